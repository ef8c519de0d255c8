"""Local fake venues: HTTP servers on 127.0.0.1 that speak each venue's real wire format."""
