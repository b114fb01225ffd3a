# Answers that are numbers (passkeys; QA populations): how many predictions hold exactly the expected digits, and how
# many hold the same digits in another order, per method and rate, from `gmsa eval --predictions FILE.jsonl`:
#   jq -s -r -f recipes/ablations/digit_order.jq FILE.jsonl
def digits: [scan("[0-9]")] | join("");
def column: .method + (if .rate then " \(.rate)x" else "" end);
map(select(((.task == "passkey" and .fits == 1) or (.task == "qa" and (.prompt | test("population"))))))
| group_by(.task)[] | . as $task
| (reduce ($task[] | column) as $c ([]; if index([$c]) then . else . + [$c] end)) as $columns
| "**\($task[0].task)** (\(if $task[0].task == "passkey" then "items that fit the window" else "population questions" end))", "",
  "| method | answers | same digits, same order | same digits, other order |", "| --- | ---: | ---: | ---: |",
  ($columns[] as $c | $task | map(select(column == $c)) as $rows
    | ($rows | map((.expected[0] | digits) as $e | (.prediction | [scan("[0-9][0-9,]*[0-9]|[0-9]")] | first // "" | digits) as $p
        | if $p == $e then "same" elif ($p | explode | sort) == ($e | explode | sort) then "permuted" else "other" end)) as $kinds
    | "| \($c) | \($rows | length) | \($kinds | map(select(. == "same")) | length) | \($kinds | map(select(. == "permuted")) | length) |"),
  ""
