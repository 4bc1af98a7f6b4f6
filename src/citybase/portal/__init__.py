"""L5: the static web portal (HTML/JS/CSS); it talks to the platform over HTTP only."""
