"""Message topics. Agents listen on ``lbaas_agent.<host>``; the server on ``lbaas_plugin``."""

AGENT_TOPIC = "lbaas_agent"
PLUGIN_TOPIC = "lbaas_plugin"
RPC_NAMESPACE = "lbaas"


def agent_topic(host: str) -> str:
    """The topic one agent consumes."""
    return f"{AGENT_TOPIC}.{host}"
