#!/bin/sh
# Turns a capture into the text segment fixtures the pixelscope-tls tests
# read (`*.segments`), so those tests do not depend on the capture reader.
# Usage: extract-segments.sh CAPTURE [DISPLAY-FILTER] > NAME.segments
# Needs tshark. One line per TCP segment or UDP datagram, in frame order:
#   tcp FRAME STREAM SRC DST EPOCH-SECONDS RAW-SEQ SYN PAYLOAD-HEX
#   udp FRAME SRC DST EPOCH-SECONDS PAYLOAD-HEX
set -eu
filter="${2:-tcp or udp}"
tshark -r "$1" -Y "($filter) and not icmp" -T fields -E separator='|' \
  -e frame.number -e tcp.stream -e ip.src -e ipv6.src -e tcp.srcport -e udp.srcport \
  -e ip.dst -e ipv6.dst -e tcp.dstport -e udp.dstport -e frame.time_epoch \
  -e tcp.seq_raw -e tcp.flags.syn -e tcp.payload -e udp.payload 2>/dev/null |
awk -F'|' '{
  src = ($3 != "") ? $3 : "[" $4 "]"; dst = ($7 != "") ? $7 : "[" $8 "]";
  if ($2 != "") {
    p = ($14 == "") ? "-" : $14;
    printf "tcp %s %s %s:%s %s:%s %s %s %s %s\n", $1, $2, src, $5, dst, $9, $11, $12, $13, p
  } else if ($15 != "") {
    printf "udp %s %s:%s %s:%s %s %s\n", $1, src, $6, dst, $10, $11, $15
  }
}'
