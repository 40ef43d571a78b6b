"""The one-click unsubscribe endpoint (RFC 8058): app, pages, and an acknowledging publisher."""
