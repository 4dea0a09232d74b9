/* Regression: glibc's <signal.h> defines si_status as a macro. The public
 * header must compile after it and before it, leave siginfo_t.si_status
 * working, and offer si_status_t for code that sees the macro. Compiling this
 * file is most of the test. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <sparse_infer.h>

int main(void) {
  siginfo_t info;
  si_options *opts = NULL;
  si_status_t s;
  int failed = 0;

  memset(&info, 0, sizeof info);
  info.si_status = 7;
  s = si_options_create(&opts);
  failed += s != SI_OK;
  failed += info.si_status != 7;
  si_options_destroy(opts);
  printf("%d passed, %d failed\n", 2 - failed, failed);
  return failed != 0;
}
