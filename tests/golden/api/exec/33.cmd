-X
www
