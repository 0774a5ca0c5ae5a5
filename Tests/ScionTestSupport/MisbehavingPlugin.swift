import Foundation

/// A runtime fixture in C that misbehaves on demand: the file
/// `<folder>/misbehave` holds "<operation> segv|abort|hang|leak", and that
/// operation segfaults, aborts, hangs for ever or leaks memory without end.
public enum MisbehavingPlugin {
    public static func runtimeAnswers(name: String) -> [String: String] {
        [
            "describe": #"{"schema_version":1,"name":"\#(name)","kind":"runtime","version":"1","description":"fixture"}"#,
            "capabilities": #"{"schema_version":1,"terminal_session":false}"#,
            "run": #"{"schema_version":1,"handle":"h1"}"#,
            "status": #"{"schema_version":1,"name":"x","handle":"h1","state":"running","labels":{}}"#,
            "list": #"{"schema_version":1,"agents":[]}"#,
            "stop": #"{"schema_version":1}"#,
            "delete": #"{"schema_version":1}"#,
        ]
    }

    /// C statements for the top of `call` (needs stdio.h and unistd.h in the prelude).
    public static func misbehaviour(_ folder: String) -> String {
        """
          { FILE *f = fopen(\(FixturePlugins.cString(folder + "/misbehave")), "r"); char what[64] = {0};
            if (f) { if (!fgets(what, sizeof what, f)) what[0] = 0; fclose(f); }
            char *space = strchr(what, ' ');
            if (space && strncmp(operation, what, (size_t)(space - what)) == 0 && strlen(operation) == (size_t)(space - what)) {
              if (strncmp(space + 1, "segv", 4) == 0) { volatile int *nothing = NULL; *nothing = 1; }
              if (strncmp(space + 1, "abort", 5) == 0) abort();
              if (strncmp(space + 1, "hang", 4) == 0) for (;;) sleep(1);
              if (strncmp(space + 1, "leak", 4) == 0) for (;;) { char *p = malloc(1 << 20); if (p) memset(p, 1, 1 << 20); }
            } }
        """
    }
}
