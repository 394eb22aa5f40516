"""The actor kinds (blog, events, shop) and what they share: the services of the running peer, the
setup they register into, and the web helpers of their pages."""
