conntrack -L --bogus
