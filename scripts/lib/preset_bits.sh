# Sourced by scripts/train.sh and scripts/eval.sh: preset_bits SET prints the bit lengths
# to sweep, BITS when set, else those with a preset configs/SET_<bit>.json; an unknown
# set is a one-line error naming the presets there are.
# shellcheck shell=bash
preset_bits() {
  local set=$1 bits=() file
  for file in configs/"$set"_*.json; do
    [[ -f $file ]] || continue
    file=${file##*_}
    bits+=("${file%.json}")
  done
  if [[ ${#bits[@]} -eq 0 ]]; then
    local sets
    sets=$(ls configs | sed -n 's/_[0-9]*\.json$//p' | sort -u | tr '\n' ' ')
    echo "no presets configs/${set}_<bit>.json; SET must be one of: ${sets}" >&2
    return 1
  fi
  if [[ -n ${BITS:-} ]]; then
    echo "$BITS"
  else
    printf '%s\n' "${bits[@]}" | sort -n | tr '\n' ' '
  fi
}
