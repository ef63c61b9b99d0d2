-t
nat
-L
-n
-v
