"""The ``lbaas`` command."""

import warnings

# oslo.messaging still imports eventlet, which warns on import; the CLI has no use for it.
warnings.filterwarnings("ignore", message="(?s).*eventlet")
