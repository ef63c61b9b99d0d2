-A
OUTPUT
-i
eth0
-j
ACCEPT
