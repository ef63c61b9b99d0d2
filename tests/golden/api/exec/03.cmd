-I
INPUT
-i
lan0
-j
ACCEPT
