"""Services: domain rules plus one database transaction each; no request objects here."""
