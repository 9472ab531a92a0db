"""Lists the kinds of the entries of a CUDA fatbin: cubin (an ELF for one
architecture) or ptx."""
import struct
import sys

data = open(sys.argv[1], "rb").read()
magic, _, header, size = struct.unpack("<IHHQ", data[:16])
assert magic == 0xBA55ED50, "not a fatbin"
offset = header
while offset < header + size:
    kind, _, entry_header, entry_size = struct.unpack("<HHIQ", data[offset:offset + 16])
    print({1: "ptx", 2: "cubin"}.get(kind, "kind %d" % kind))
    offset += entry_header + entry_size
