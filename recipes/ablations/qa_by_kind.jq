# QA F1 by question kind, one column per method and rate, from `gmsa eval --predictions FILE.jsonl`:
#   jq -s -r -f recipes/ablations/qa_by_kind.jq FILE.jsonl
# The kinds are the Factbook QA templates (`gmsa data qa`); a prompt that matches none is "other".
def kind: if test("On what date") then "holiday date" elif test("national holiday") then "holiday name"
  elif test("population") then "population" elif test("total area") then "area" elif test("capital") then "capital"
  elif test("region") then "region" elif test("coastline") then "coastline" elif test("currency") then "currency"
  elif test("independent") then "independence" elif test("government") then "government" elif test("language") then "language"
  elif test("highest point") then "highest point" elif test("life expectancy") then "life expectancy" else "other" end;
def column: .method + (if .rate then " \(.rate)x" else "" end);
def mean: if length == 0 then "-" else (add / length * 1000 | round / 1000 | tostring) end;
map(select(.task == "qa")) as $qa
| (reduce ($qa[] | column) as $c ([]; if index([$c]) then . else . + [$c] end)) as $columns
| "| kind | questions | " + ($columns | join(" | ")) + " |",
  "| --- | ---: |" + ($columns | map(" ---: |") | join("")),
  ($qa | group_by(.prompt | kind)[] | . as $group
    | "| \($group[0].prompt | kind) | \($group | map(select(column == $columns[0])) | length) | "
      + ($columns | map(. as $c | $group | map(select(column == $c) | .f1) | mean) | join(" | ")) + " |"),
  "| all | \($qa | map(select(column == $columns[0])) | length) | " + ($columns | map(. as $c | $qa | map(select(column == $c) | .f1) | mean) | join(" | ")) + " |"
