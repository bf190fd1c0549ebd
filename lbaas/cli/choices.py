"""The enumerated values of the Octavia v2 API, as option types (matched case-insensitively)."""

from __future__ import annotations

from typing import Literal

OutputFormat = Literal["table", "json", "value"]

ListenerProtocol = Literal["HTTP", "HTTPS", "SCTP", "PROMETHEUS", "TCP", "TERMINATED_HTTPS",
                           "UDP"]
PoolProtocol = Literal["HTTP", "HTTPS", "PROXY", "PROXYV2", "SCTP", "TCP", "UDP"]
Algorithm = Literal["ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP", "SOURCE_IP_PORT"]
ClientAuthentication = Literal["NONE", "OPTIONAL", "MANDATORY"]
TLSVersion = Literal["SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
ALPNProtocol = Literal["http/1.0", "http/1.1", "h2"]

MonitorType = Literal["HTTP", "HTTPS", "PING", "SCTP", "TCP", "TLS-HELLO", "UDP-CONNECT"]
HttpMethod = Literal["CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT",
                     "TRACE"]
HttpVersion = Literal["1.0", "1.1"]

L7Action = Literal["REDIRECT_PREFIX", "REDIRECT_TO_POOL", "REDIRECT_TO_URL", "REJECT"]
RedirectCode = Literal["301", "302", "303", "307", "308"]
L7RuleType = Literal["COOKIE", "FILE_TYPE", "HEADER", "HOST_NAME", "PATH", "SSL_CONN_HAS_CERT",
                     "SSL_VERIFY_RESULT", "SSL_DN_FIELD"]
CompareType = Literal["CONTAINS", "ENDS_WITH", "EQUAL_TO", "REGEX", "STARTS_WITH"]

ProvisioningStatus = Literal["ACTIVE", "DELETED", "ERROR", "PENDING_CREATE", "PENDING_UPDATE",
                             "PENDING_DELETE"]
OperatingStatus = Literal["ONLINE", "DRAINING", "OFFLINE", "DEGRADED", "ERROR", "NO_MONITOR"]
