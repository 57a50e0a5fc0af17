#!/usr/bin/env bash
# The main job, end to end on one machine: a population register, intake with
# dual-control approval, production batches and jobs, and as far down the line as the
# product is built. Everything runs under $CCCD_DATA_DIR (default ./.demo), which is
# wiped first; PostgreSQL and NATS are private instances started by cccd itself.
set -euo pipefail

CCCD=${1:-bin/cccd}
CCCD=$(realpath "$CCCD")
export CCCD_DATA_DIR=${CCCD_DATA_DIR:-$PWD/.demo}
N=${DEMO_APPLICATIONS:-12}
# One clerk takes all N applications within seconds; a real counter stays under the
# default limit of 10 register look-ups per clerk per minute.
export CCCD_LOOKUPS_PER_MINUTE=${CCCD_LOOKUPS_PER_MINUTE:-$((N + 10))}
OFFICE=001-HK01          # intake and receiving office (Hoàn Kiếm, Hà Nội)
CENTRE=001-SX01          # production centre
LINE=L1

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
cleanup() {
  for p in ${PRINT_PID:-} ${STATION_PID:-} ${EMU_PID:-} ${SERVE_PID:-}; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  true
}
trap cleanup EXIT

"$CCCD" db destroy
rm -rf "$CCCD_DATA_DIR"
mkdir -p "$CCCD_DATA_DIR/work"
W=$CCCD_DATA_DIR/work

say "Database: private PostgreSQL cluster, schema migrations"
"$CCCD" migrate

say "Users (tokens saved under $CCCD_DATA_DIR/tokens, never printed)"
"$CCCD" user add lan.clerk  --role clerk      --office $OFFICE
"$CCCD" user add hoa.sup    --role supervisor --office $OFFICE
"$CCCD" user add minh.op    --role operator   --office $CENTRE
"$CCCD" user add an.admin   --role admin      --office $CENTRE
"$CCCD" user add binh.admin --role admin      --office $CENTRE
"$CCCD" user add tam.verifier --role verifier --office $OFFICE

say "Population register: 20,000 synthetic residents"
"$CCCD" registry generate --count 20000 --seed 2026 -o "$W/register.jsonl"
"$CCCD" registry import "$W/register.jsonl"

say "Intake: $N applications pre-filled from the register, portraits captured"
# Adults only (a card for a child under 14 is optional), first N in the file.
ids=$(awk -v n="$N" 'match($0, /"id_number":"[0-9]+","full_name":"[^"]*","date_of_birth":"(19[5-9][0-9]|200[0-9])/) {
        id = substr($0, RSTART + 13, 12); print id; if (++k == n) exit }' "$W/register.jsonl")
i=0
: > "$W/receipts"; : > "$W/ids"
for id in $ids; do
  i=$((i + 1))
  "$CCCD" registry portrait --seed "$i" -o "$W/portrait-$i.jpg"
  "$CCCD" --as lan.clerk intake prefill "$id" --portrait "$W/portrait-$i.jpg" > "$W/app-$i.json"
  receipt=$("$CCCD" --as lan.clerk --json intake submit "$W/app-$i.json" | sed -n 's/.*"receipt": "\(.*\)".*/\1/p')
  echo "$receipt" >> "$W/receipts"
  echo "$id $receipt" >> "$W/ids"
  echo "  $id -> receipt $receipt"
done

say "A bad application is refused with every field named, and changes nothing"
sed 's/"sex": "[MF]"/"sex": "X"/; s/"date_of_birth": "[0-9-]*"/"date_of_birth": "2031-02-28"/' "$W/app-1.json" > "$W/bad.json"
"$CCCD" --as lan.clerk intake submit "$W/bad.json" || true

say "One look-up at a time: another person's look-up is refused until the open one is submitted or given up"
spare() { awk 'match($0, /"id_number":"[0-9]+"/) { print substr($0, RSTART + 13, 12) }' "$W/register.jsonl" | sed -n "$1p"; }
"$CCCD" --as lan.clerk intake prefill "$(spare $((N + 5)))" > /dev/null
"$CCCD" --as lan.clerk intake prefill "$(spare $((N + 6)))" > /dev/null || true
"$CCCD" --as lan.clerk intake release

say "Dual control: the clerk cannot approve; the supervisor approves all but one"
first=$(head -n 1 "$W/receipts")
"$CCCD" --as lan.clerk intake approve "$first" || true
"$CCCD" --as hoa.sup intake reject "$first" --reason "Ảnh chân dung không đạt chuẩn (portrait does not meet the standard)"
"$CCCD" --as hoa.sup intake approve $(tail -n +2 "$W/receipts")

say "Document PKI in SoftHSM2: CSCA and Document Signer, each confirmed by a second admin"
"$CCCD" hsm init | sed -n 1,3p
req=$("$CCCD" --as an.admin --json pki csca create | sed -n 's/.*"request": \([0-9]*\).*/\1/p')
"$CCCD" --as binh.admin pki confirm "$req"
req=$("$CCCD" --as an.admin --json pki ds issue | sed -n 's/.*"request": \([0-9]*\).*/\1/p')
"$CCCD" --as binh.admin pki confirm "$req"
"$CCCD" pki trust add-csca "$CCCD_DATA_DIR"/pki/csca-*.pem

say "Workflow: cccd serve (intake API + outbox relay on an embedded NATS JetStream)"
"$CCCD" serve --listen 127.0.0.1:0 > "$W/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 100); do [ -s "$CCCD_DATA_DIR/nats/nats.url" ] && break; sleep 0.1; done

say "Production: batch the approved applications for line $LINE and queue their jobs"
batch=$("$CCCD" --as minh.op --json batch create --line $LINE | sed -n 's/.*"id": \([0-9]*\).*/\1/p' | sed -n 1p)
"$CCCD" --as minh.op batch start "$batch"

say "Personalization: a station with 2 PC/SC readers (virtual chips behind pcscd, fed by a card hopper)"
scripts/pcscd.sh start 16 >/dev/null
R0=$(scripts/pcscd.sh readers 14 | awk -F'\t' '$1 == 0 {print $3}')
R1=$(scripts/pcscd.sh readers 14 | awk -F'\t' '$1 == 1 {print $3}')
"$CCCD" card emulate --slots 2 --feed > "$W/emulator.log" 2>&1 &
EMU_PID=$!
"$CCCD" --as minh.op station --line $LINE --reader "$R0" --reader "$R1" --max-apdu 4096 > "$W/station.log" 2>&1 &
STATION_PID=$!
want=$(( $(wc -l < "$W/receipts") - 1 ))
wait_batch() { # FIELD-REGEX COUNT: wait until the batch status JSON shows COUNT for it
  for _ in $(seq 1200); do
    n=$("$CCCD" --as minh.op --json batch status "$batch" | tr -d '\n ' | { grep -o "$1:[0-9]*" || true; } | sed -n 1p | cut -d: -f2)
    [ "${n:-0}" -ge "$2" ] && return 0
    for p in $SERVE_PID ${EMU_PID:-} ${STATION_PID:-} ${PRINT_PID:-}; do
      if ! kill -0 "$p" 2>/dev/null; then
        echo "demo: a production process stopped; the logs:" >&2
        tail -n 5 "$W"/*.log >&2
        return 1
      fi
    done
    sleep 0.5
  done
  echo "demo: batch did not reach $2 for $1 within 10 minutes; logs in $W" >&2
  return 1
}
wait_batch '"personalized"' "$want"
grep -h "written+locked+verified\|spoiled" "$W/station.log" | sed -n '1,20s/^/  /p' || true
"$CCCD" --as minh.op batch status "$batch"
kill "$STATION_PID" "$EMU_PID"; wait "$STATION_PID" "$EMU_PID" 2>/dev/null || true
STATION_PID= EMU_PID=

say "Printing: card faces as PDF on printer P1 (spool), each face checked against its chip (QC)"
"$CCCD" print run --printer P1 > "$W/print.log" 2>&1 &
PRINT_PID=$!
wait_batch '"qc_passed"' "$want"
"$CCCD" --as minh.op print verify "$batch"
"$CCCD" --as minh.op print proof "$batch"
kill "$PRINT_PID"; wait "$PRINT_PID" 2>/dev/null || true
PRINT_PID=

say "Dispatch to the receiving office $OFFICE, and receipt there"
"$CCCD" --as minh.op --json dispatch create --office $OFFICE > "$W/shipment.json"
ship=$(sed -n 's/^  "id": \([0-9]*\).*/\1/p' "$W/shipment.json")
echo "shipment $ship: $(grep -c '"serial"' "$W/shipment.json") cards"
"$CCCD" --as hoa.sup dispatch receive "$ship" | sed -n 1p

say "Hand-over: each card is verified in the counter's reader (PACE, CA, AA, Passive Authentication) first"
"$CCCD" card emulate --slots 3 > "$W/counter.log" 2>&1 &
EMU_PID=$!
R2=$(scripts/pcscd.sh readers 14 | awk -F'\t' '$1 == 2 {print $3}')
sleep 0.5
serial_of() { grep -B1 "\"receipt\": \"$1\"" "$W/shipment.json" | sed -n 's/.*"serial": "\(.*\)".*/\1/p'; }
first_ok=$(sed -n 2p "$W/receipts"); other=$(sed -n 3p "$W/receipts")
echo "  a card presented for the wrong applicant is refused:"
"$CCCD" card insert --slot 2 --file "$CCCD_DATA_DIR/cards/out/$(serial_of "$other").json" >/dev/null
CCCD_READER="$R2" "$CCCD" --as hoa.sup deliver "$first_ok" --received-by "Người nhận" 2>&1 | tail -n 2 | sed 's/^/    /' || true
"$CCCD" card remove --slot 2 >/dev/null
delivered=0
for receipt in $(tail -n +2 "$W/receipts"); do
  serial=$(serial_of "$receipt")
  "$CCCD" card insert --slot 2 --file "$CCCD_DATA_DIR/cards/out/$serial.json" >/dev/null
  if CCCD_READER="$R2" "$CCCD" --as hoa.sup deliver "$receipt" --received-by "Chủ thẻ" > "$W/deliver-$receipt.txt" 2>&1; then
    delivered=$((delivered + 1)); echo "  $receipt: card $serial verified and handed over"
  else
    echo "  $receipt: REFUSED"; sed 's/^/    /' "$W/deliver-$receipt.txt" | tail -n 3
  fi
  "$CCCD" card remove --slot 2 >/dev/null
done

say "Counter: a verifier reads one card (exit 0 = genuine)"
read -r id receipt < <(sed -n 2p "$W/ids")
"$CCCD" card insert --slot 2 --file "$CCCD_DATA_DIR/cards/out/$(serial_of "$receipt").json" >/dev/null
"$CCCD" --as tam.verifier verify --reader "$R2" --can "${id: -6}" || true
"$CCCD" card remove --slot 2 >/dev/null

say "Lifetime: a card verifies for as long as the law keeps it valid (cccd verify --at, openssl cms -attime)"
# The first delivered card that expires (a card issued at 58 or later never does).
expiry=""
for r in $(tail -n +2 "$W/receipts"); do
  rid=$(grep " $r\$" "$W/ids" | cut -d' ' -f1)
  chip="$CCCD_DATA_DIR/cards/out/$(serial_of "$r").json"
  [ -n "$rid" ] && [ -f "$chip" ] || continue
  "$CCCD" card insert --slot 2 --file "$chip" >/dev/null
  "$CCCD" --as tam.verifier --json verify --reader "$R2" --can "${rid: -6}" > "$W/lifetime.json" 2>/dev/null || true
  expiry=$(sed -n 's/.*"expiry_date": "\([0-9][0-9]\)\/\([0-9][0-9]\)\/\([0-9]\{4\}\)".*/\3-\2-\1/p' "$W/lifetime.json" | head -n 1)
  [ -n "$expiry" ] && break
  "$CCCD" card remove --slot 2 >/dev/null
done
if [ -n "$expiry" ]; then
  after=$(date -u -d "$expiry + 1 day" +%F)
  for at in "$expiry" "$after"; do
    echo "  cccd verify --at $at:"
    "$CCCD" --as tam.verifier verify --reader "$R2" --can "${rid: -6}" --at "$at" 2>&1 | grep -E '^(GENUINE|NOT GENUINE|COULD NOT)|reason:|judged as of' | sed 's/^/    /' || true
  done
  "$CCCD" card remove --slot 2 >/dev/null
  # EF.SOD from the chip file: the CMS ContentInfo inside tag 77.
  grep -i -A2 '"fid": "011d"' "$chip" | sed -n 's/.*"data": "\(.*\)".*/\1/p' | base64 -d > "$W/efsod.bin"
  lb=$(od -An -tu1 -j1 -N1 "$W/efsod.bin" | tr -d ' ')
  hdr=2; [ "$lb" -gt 128 ] && hdr=$((2 + lb - 128))
  tail -c +$((hdr + 1)) "$W/efsod.bin" > "$W/sod.der"
  csca=$(ls "$CCCD_DATA_DIR"/pki/csca-*.pem | head -n 1)
  attime=$(date -d "$expiry 23:59:59 +0700" +%s)
  echo "  $ openssl cms -verify -inform DER -in $W/sod.der -CAfile $csca -purpose any -attime $attime -out /dev/null   # end of $expiry, Vietnam time"
  openssl cms -verify -inform DER -in "$W/sod.der" -CAfile "$csca" -purpose any -attime "$attime" -out /dev/null 2>&1 | sed 's/^/    /'
else
  echo "  no delivered card of this run expires (all issued at 58 or later)"
fi

say "Data protection: who read this citizen's record, and why (every read is an audit entry)"
"$CCCD" --as an.admin audit access --subject "$id"
"$CCCD" --as an.admin audit anomalies || true

say "Summary"
"$CCCD" audit verify
"$CCCD" --as minh.op batch reconcile "$batch" || true
states=$("$CCCD" --as hoa.sup --json intake list --limit 1000 | grep -o '"state": "[a-z_]*"' | sort | uniq -c | sed 's/"state": //')
echo "applications taken: $N, approved: $want, delivered after verification: $delivered"
echo "by state:"
echo "$states" | sed 's/^/  /'
echo "card faces (PDF):   $CCCD_DATA_DIR/print/cards/"
echo "proof sheet:        $(ls "$CCCD_DATA_DIR"/print/proofs/*.pdf)"
echo "chips (files):      $CCCD_DATA_DIR/cards/out/"
echo "portrait read back: $CCCD_DATA_DIR/verify/"
echo "try: $CCCD --data-dir $CCCD_DATA_DIR status $(tail -n 1 "$W/receipts")"

say "Web console: two more applications wait for the supervisor; a console password for each role"
adults=$(awk 'match($0, /"id_number":"[0-9]+","full_name":"[^"]*","date_of_birth":"(19[5-9][0-9]|200[0-9])/) {
        print substr($0, RSTART + 13, 12) }' "$W/register.jsonl" | sed -n "$((N + 1)),$((N + 3))p")
more=$(echo "$adults" | sed -n 1,2p)
free=$(echo "$adults" | sed -n 3p)
i=100
for id in $more; do
  i=$((i + 1))
  "$CCCD" registry portrait --seed "$i" -o "$W/portrait-$i.jpg"
  "$CCCD" --as lan.clerk intake prefill "$id" --portrait "$W/portrait-$i.jpg" > "$W/app-$i.json"
  echo "  $id -> receipt $("$CCCD" --as lan.clerk --json intake submit "$W/app-$i.json" | sed -n 's/.*"receipt": "\(.*\)".*/\1/p')"
done
# Demo passwords, for a throwaway data directory only: a real site sets its own with
# `cccd user passwd NAME --password-file F`.
PASSWORD=cccd-demo-2026
for u in lan.clerk hoa.sup minh.op tam.verifier an.admin; do
  printf '%s\n' "$PASSWORD" | "$CCCD" user passwd "$u" >/dev/null
done
url=$(sed -n 's/.*web console: \(https:[^)]*\)\/).*/\1/p' "$W/serve.log" | sed -n 1p)
echo
echo "Web console: $url/   (self-signed development certificate: accept it once in the browser)"
row() { printf '  %-14s %-13s %-15s %s\n' "$@"; }
row role user password ""
row clerk lan.clerk "$PASSWORD" "intake: look up $free, a resident of the register"
row supervisor hoa.sup "$PASSWORD" "2 applications wait for approval; the office's shipments and hand-over"
row operator minh.op "$PASSWORD" "batch $batch, reconciliation, print room"
row verifier tam.verifier "$PASSWORD" "a card on a counter reader"
row administrator an.admin "$PASSWORD" "users, audit log, PKI"
row applicant "(no login)" "" "$url/status?receipt=$(sed -n 2p "$W/receipts")  (delivered)"
if [ -t 0 ] && [ -t 1 ]; then
  echo
  echo "The console runs until Ctrl-C."
  trap 'echo; exit 0' INT TERM
  wait "$SERVE_PID"
else
  echo
  echo "Not a terminal: stopping. Start the console again on this data with:"
  echo "  CCCD_DATA_DIR=$CCCD_DATA_DIR $CCCD serve --listen 127.0.0.1:8080    (then open https://127.0.0.1:8080/console/)"
fi
