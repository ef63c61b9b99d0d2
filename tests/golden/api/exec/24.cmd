-X
web
