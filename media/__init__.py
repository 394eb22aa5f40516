"""Images of posts and events: one pipeline that decodes to verify, strips metadata, resizes and stores."""
