"""The git pack format at the byte level: entry headers, delta offsets, the pack header.

Entries are copied between packs without recompressing, so only their headers are ever rewritten.
"""
import hashlib
import struct

OBJ_COMMIT, OBJ_TREE, OBJ_BLOB, OBJ_TAG = 1, 2, 3, 4
OFS_DELTA, REF_DELTA = 6, 7
TYPE_NAMES = {OBJ_COMMIT: b"commit", OBJ_TREE: b"tree", OBJ_BLOB: b"blob", OBJ_TAG: b"tag"}
TYPE_NUMS = {v: k for k, v in TYPE_NAMES.items()}
ZERO_OID = b"\0" * 20


class PackFormatError(ValueError):
    pass


def pack_header(count):
    return b"PACK" + struct.pack(">II", 2, count)


def parse_pack_header(head):
    if len(head) < 12 or head[:4] != b"PACK":
        raise PackFormatError("not a pack: bad signature")
    version, count = struct.unpack(">II", head[4:12])
    if version not in (2, 3):
        raise PackFormatError(f"unsupported pack version {version}")
    return count


def encode_entry_header(type_num, size):
    """Type and inflated size, as the variable-length header every entry starts with."""
    byte = (type_num << 4) | (size & 0x0F)
    size >>= 4
    out = bytearray()
    while size:
        out.append(byte | 0x80)
        byte = size & 0x7F
        size >>= 7
    out.append(byte)
    return bytes(out)


def encode_ofs(distance):
    """The OFS_DELTA base distance, in git's offset encoding (each continuation adds one)."""
    out = bytearray([distance & 0x7F])
    distance >>= 7
    while distance:
        distance -= 1
        out.append(0x80 | (distance & 0x7F))
        distance >>= 7
    out.reverse()
    return bytes(out)


def decode_entry_header(buf, pos=0):
    """-> (type_num, size, base, data_start); base is a pack-relative distance (OFS) or an oid (REF)."""
    try:
        byte = buf[pos]
        type_num = (byte >> 4) & 7
        size = byte & 0x0F
        shift = 4
        pos += 1
        while byte & 0x80:
            byte = buf[pos]
            size |= (byte & 0x7F) << shift
            shift += 7
            pos += 1
        base = None
        if type_num == OFS_DELTA:
            byte = buf[pos]
            pos += 1
            distance = byte & 0x7F
            while byte & 0x80:
                byte = buf[pos]
                pos += 1
                distance = ((distance + 1) << 7) | (byte & 0x7F)
            base = distance
        elif type_num == REF_DELTA:
            base = bytes(buf[pos:pos + 20])
            if len(base) != 20:
                raise IndexError
            pos += 20
    except IndexError:
        raise PackFormatError("truncated entry header") from None
    if type_num not in (1, 2, 3, 4, OFS_DELTA, REF_DELTA):
        raise PackFormatError(f"bad entry type {type_num}")
    return type_num, size, base, pos


def object_header(type_num, length):
    return TYPE_NAMES[type_num] + b" " + str(length).encode() + b"\0"


_TYPE_PREFIX = {t: name + b" " for t, name in TYPE_NAMES.items()}


def object_id(type_num, data):
    """The object's id: SHA-1 of its header and its bytes."""
    h = hashlib.sha1(_TYPE_PREFIX[type_num] + b"%d\0" % len(data))
    h.update(data)
    return h.digest()
