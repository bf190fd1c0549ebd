"""The roles a token may carry (Octavia's, plus Keystone's generic ones)."""

VALID_ROLES = ("admin", "member", "reader", "load-balancer_admin", "load-balancer_member",
               "load-balancer_observer", "load-balancer_global_observer")
