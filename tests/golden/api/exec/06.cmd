-A
FORWARD
-j
web
