// `sparse-infer serve ...`: the command line of the server.
#pragma once

namespace si::serve {

// argv[0] is "serve". Returns the process exit code.
int serve_main(int argc, char **argv);

}  // namespace si::serve
