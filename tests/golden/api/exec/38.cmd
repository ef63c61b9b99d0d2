-L
OUTPUT
-n
-v
--line-numbers
