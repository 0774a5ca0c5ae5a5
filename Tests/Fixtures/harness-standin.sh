#!/bin/sh
# An honest stand-in for the `claude`, `gemini` and `codex` CLIs (the tests
# install it under those names). It does what the real tool does as far as
# scion can see:
#
#   1. records its argv, environment and the files in its home into
#      $HOME/standin/<name>-<run>.txt (run 1 is the start, 2 the resume...);
#   2. reports through the hooks scion configured, found where the real
#      tool reads them (claude: ~/.claude/settings.json hooks, run through
#      a shell with the event JSON on stdin; gemini: ~/.gemini/settings.json
#      hooks, the same way; codex: `notify` in ~/.codex/config.toml, run as
#      an argv with the JSON as its last argument), with the payloads the
#      tools' hook documentation describes (docs/harnesses/*.md);
#   3. works a turn on the task, then waits for input line by line, as an
#      interactive session does (`scion message` types into it).
#
# Input lines: `/exit` ends the session; `ask <question>` and
# `block <reason>` run `scion status ask_user|blocked` from inside a tool
# call, as an agent following its instructions does; anything else is a
# prompt for a new turn.
#
# With STANDIN_GATED=1 each step of the first turn waits for a gate file
# ($HOME/standin/gate-<step>, created by the test), so a test can see each
# activity in turn: think (thinking), tool (executing).
set -u
name=$(basename "$0")
dir="$HOME/standin"
mkdir -p "$dir"
run=1
while [ -e "$dir/$name-$run.txt" ]; do run=$((run + 1)); done
session="standin-$name-$$"

{
    echo "== argv"
    for argument in "$@"; do printf 'arg: %s\n' "$argument"; done
    echo "== env"
    env | sort
    echo "== files"
    find "$HOME" -path "$dir" -prune -o -type f -printf '%m %P\n' | sort
} > "$dir/.$name-$run.tmp" && mv "$dir/.$name-$run.tmp" "$dir/$name-$run.txt"

note() { printf '%s\n' "$*" >> "$dir/$name-notes.txt"; }

# A JSON string literal (no control characters expected in test text).
json() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

gate() {
    [ "${STANDIN_GATED:-}" = 1 ] || return 0
    waited=0
    while [ ! -e "$dir/gate-$1" ]; do
        sleep 0.1
        waited=$((waited + 1))
        [ "$waited" -lt 1200 ] || { note "gate $1 never opened"; return 0; }
    done
}

# The hook command configured for event $1 in a settings.json (one hook per
# event, written by scion as `"command": "<argv> <Event>"`).
hook_command() {
    sed -n "s/^ *\"command\": \"\(.* $1\)\",\{0,1\}\$/\1/p" "$2" | head -n 1
}

# Runs the hook for event $1 with payload $2 the way the tool does.
emit() {
    case $name in
        claude|gemini)
            settings="$HOME/.$name/settings.json"
            command=$(hook_command "$1" "$settings")
            if [ -z "$command" ]; then note "no hook for $1"; return; fi
            output=$(printf '%s' "$2" | sh -c "$command")
            ;;
        codex)
            payload=$2
            list=$(sed -n 's/^notify = \[\(.*\)\]$/\1/p' "$HOME/.codex/config.toml")
            if [ -z "$list" ]; then note "no notify for $1"; return; fi
            eval "set -- $(printf '%s' "$list" | sed 's/", "/" "/g')"
            output=$("$@" "$payload")
            ;;
    esac
    # Claude Code adds a hook's stdout to the model's context.
    if [ -n "$output" ]; then note "hook $1 printed: $output"; fi
}

common() {
    printf '"session_id":%s,"transcript_path":%s,"cwd":%s,"hook_event_name":%s' \
        "$(json "$session")" "$(json "$HOME/.$name/transcript.jsonl")" "$(json "$PWD")" "$(json "$1")"
}

session_start() {
    case $name in
        claude) emit SessionStart "{$(common SessionStart),\"permission_mode\":\"bypassPermissions\",\"source\":$(json "$1"),\"model\":\"claude-stand-in\"}" ;;
        gemini) emit SessionStart "{$(common SessionStart),\"timestamp\":\"2026-01-01T00:00:00Z\",\"source\":$(json "$1")}" ;;
    esac
}

session_end() {
    case $name in
        claude) emit SessionEnd "{$(common SessionEnd),\"reason\":\"prompt_input_exit\"}" ;;
        gemini) emit SessionEnd "{$(common SessionEnd),\"timestamp\":\"2026-01-01T00:00:00Z\",\"reason\":\"exit\"}" ;;
    esac
}

prompt_submitted() {
    case $name in
        claude) emit UserPromptSubmit "{$(common UserPromptSubmit),\"permission_mode\":\"bypassPermissions\",\"prompt\":$(json "$1")}" ;;
        gemini) emit BeforeAgent "{$(common BeforeAgent),\"timestamp\":\"2026-01-01T00:00:00Z\",\"prompt\":$(json "$1")}" ;;
    esac
}

tool_start() {
    case $name in
        claude) emit PreToolUse "{$(common PreToolUse),\"tool_name\":\"Bash\",\"tool_input\":{\"command\":$(json "$1"),\"description\":\"run it\"},\"tool_use_id\":\"toolu_1\"}" ;;
        gemini) emit BeforeTool "{$(common BeforeTool),\"timestamp\":\"2026-01-01T00:00:00Z\",\"tool_name\":\"run_shell_command\",\"tool_input\":{\"command\":$(json "$1")}}" ;;
    esac
}

tool_end() {
    case $name in
        claude) emit PostToolUse "{$(common PostToolUse),\"tool_name\":\"Bash\",\"tool_input\":{\"command\":$(json "$1")},\"tool_response\":{\"stdout\":\"ok\",\"stderr\":\"\",\"interrupted\":false},\"tool_use_id\":\"toolu_1\"}" ;;
        gemini) emit AfterTool "{$(common AfterTool),\"timestamp\":\"2026-01-01T00:00:00Z\",\"tool_name\":\"run_shell_command\",\"tool_input\":{\"command\":$(json "$1")},\"tool_response\":{\"llmContent\":\"ok\"}}" ;;
    esac
}

turn_end() {
    case $name in
        claude) emit Stop "{$(common Stop),\"permission_mode\":\"bypassPermissions\",\"stop_hook_active\":false,\"last_assistant_message\":$(json "$1")}" ;;
        gemini) emit AfterAgent "{$(common AfterAgent),\"timestamp\":\"2026-01-01T00:00:00Z\",\"prompt\":\"\",\"prompt_response\":$(json "$1"),\"stop_hook_active\":false}" ;;
        codex) emit notify "{\"type\":\"agent-turn-complete\",\"thread-id\":$(json "$session"),\"turn-id\":\"turn-$run\",\"cwd\":$(json "$PWD"),\"input-messages\":[],\"last-assistant-message\":$(json "$1")}" ;;
    esac
}

# A tool call that runs a command, as the model would.
tool() {
    tool_start "$1"
    gate tool
    sh -c "$1" >> "$dir/$name-tool-output.txt" 2>&1
    tool_end "$1"
}

turn() {
    prompt_submitted "$1"
    gate think
    tool "echo working on: $(printf '%s' "$1" | tr -d "'")"
    turn_end "done: $1"
    echo "done: $1"
}

# The task: claude and codex take it as a positional argument, gemini
# after --prompt-interactive.
task=""
previous=""
for argument in "$@"; do
    case $previous in
        --prompt-interactive) [ "$name" = gemini ] && task=$argument ;;
        --model|-c|--resume|--append-system-prompt) ;;
        *) case $argument in
               --prompt-interactive=*) task=${argument#--prompt-interactive=} ;;
               -*|resume) ;;
               *) [ "$name" != gemini ] && task=$argument ;;
           esac ;;
    esac
    previous=$argument
done

source=startup
[ "$run" -gt 1 ] && source=resume
session_start "$source"
[ -n "$task" ] && turn "$task"

while IFS= read -r line; do
    case $line in
        /exit) session_end; exit 0 ;;
        ask\ *) prompt_submitted "$line"; tool "scion status ask_user '${line#ask }'"; turn_end "I asked: ${line#ask }" ;;
        block\ *) prompt_submitted "$line"; tool "scion status blocked '${line#block }'"; turn_end "I am blocked" ;;
        "") ;;
        *) turn "$line" ;;
    esac
done
session_end
