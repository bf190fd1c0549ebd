"""The enumerated values of the Octavia v2 API: protocols, algorithms, monitor and L7 types.

One spelling for every layer: request schemas validate against these, the ``lbaas`` CLI offers
them as choices, providers declare which of them they build. Statuses are in
:mod:`lbaas.core.status`.
"""

from __future__ import annotations

from typing import Literal

ListenerProtocol = Literal["HTTP", "HTTPS", "SCTP", "PROMETHEUS", "TCP", "TERMINATED_HTTPS",
                           "UDP"]
PoolProtocol = Literal["HTTP", "HTTPS", "PROXY", "PROXYV2", "SCTP", "TCP", "UDP"]
Algorithm = Literal["ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP", "SOURCE_IP_PORT"]
PersistenceType = Literal["APP_COOKIE", "HTTP_COOKIE", "SOURCE_IP"]
ClientAuthentication = Literal["NONE", "OPTIONAL", "MANDATORY"]
TLSVersion = Literal["SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
ALPNProtocol = Literal["http/1.0", "http/1.1", "h2"]

MonitorType = Literal["HTTP", "HTTPS", "PING", "SCTP", "TCP", "TLS-HELLO", "UDP-CONNECT"]
HttpMethod = Literal["CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT",
                     "TRACE"]

L7Action = Literal["REDIRECT_PREFIX", "REDIRECT_TO_POOL", "REDIRECT_TO_URL", "REJECT"]
L7RuleType = Literal["COOKIE", "FILE_TYPE", "HEADER", "HOST_NAME", "PATH", "SSL_CONN_HAS_CERT",
                     "SSL_VERIFY_RESULT", "SSL_DN_FIELD"]
CompareType = Literal["CONTAINS", "ENDS_WITH", "EQUAL_TO", "REGEX", "STARTS_WITH"]
RedirectCode = Literal[301, 302, 303, 307, 308]

