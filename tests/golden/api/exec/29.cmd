-D
FORWARD
-j
web
