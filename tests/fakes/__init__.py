"""Local stand-ins for outside services (GitHub), served over real HTTP on loopback."""
