-E
NOCHAIN
other
