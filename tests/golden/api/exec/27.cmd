-L
INPUT
-n
--line-numbers
