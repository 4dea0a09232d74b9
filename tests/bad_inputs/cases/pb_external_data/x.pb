BXj
location/etc/passwdp