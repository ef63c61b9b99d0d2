-E
web
www
