#!/bin/sh
# nids-copies.sh ARCHIVE COPIES OUT.a WORKDIR [LD OBJCOPY AR NM]
#
# Makes COPIES independent instances of Debian's libnids out of its own
# static archive, without modifying or vendoring its source: the archive's
# objects are linked into one relocatable object (ld -r), then each copy
# gets every global symbol libnids defines renamed to sxnidsI_NAME
# (objcopy --redefine-syms). libnids keeps all its state in globals, so
# copy I's state is sxnidsI_nids_params, its stream table, ... and the
# copies share nothing but libc. functions/nids_shards.c drives them.
set -eu
archive=$1 copies=$2 out=$3 work=$4
ld=${5:-ld} objcopy=${6:-objcopy} ar=${7:-ar} nm=${8:-nm}
rm -rf "$work"
mkdir -p "$work"
cd "$work"
"$ar" x "$archive"
members=$("$ar" t "$archive")
# shellcheck disable=SC2086
"$ld" -r $members -o nids_all.o
"$nm" -g --defined-only nids_all.o | awk '{print $3}' > symbols.txt
[ -s symbols.txt ] || { echo "nids-copies: no symbols in $archive" >&2; exit 1; }
i=0
objs=""
while [ "$i" -lt "$copies" ]; do
    awk -v p="sxnids${i}_" '{print $1, p $1}' symbols.txt > "map$i.txt"
    "$objcopy" --redefine-syms="map$i.txt" nids_all.o "nids_copy$i.o"
    objs="$objs nids_copy$i.o"
    i=$((i + 1))
done
rm -f "$out"
# shellcheck disable=SC2086
"$ar" rcs "$out" $objs
