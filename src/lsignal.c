/* lsignal.c - core.sigint_trap(on) and core.sigint_caught(): SIGINT noted, not acted on, while a
 * command must finish what it is doing first (anthropic apply stops between actions).
 *
 * A signal's disposition belongs to the process, so this is the one piece of process-wide state
 * in the core: a flag the handler sets and the disposition it replaced. The handler only sets the
 * flag (async-signal-safe); SA_RESETHAND makes a second SIGINT act as if there were no trap
 * (the default: the process ends). No SA_RESTART: a wait in poll() returns at once. */
#include <signal.h>
#include <string.h>

#include "core.h"

static volatile sig_atomic_t caught;
static struct sigaction saved;
static int trapped;

static void on_sigint(int sig) {
  (void)sig;
  caught = 1;
}

/* core.sigint_trap(on) -> whether a SIGINT came while the trap was set. true sets the trap
 * (clearing the flag); false puts back the disposition there was before. */
static int sigint_trap(lua_State *L) {
  int on = lua_toboolean(L, 1);
  int was = caught != 0;
  if (on && !trapped) {
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_handler = on_sigint;
    act.sa_flags = SA_RESETHAND;
    sigemptyset(&act.sa_mask);
    caught = 0;
    was = 0;
    if (sigaction(SIGINT, &act, &saved) == 0) trapped = 1;
  } else if (!on && trapped) {
    sigaction(SIGINT, &saved, NULL);
    trapped = 0;
  }
  lua_pushboolean(L, was);
  return 1;
}

/* core.sigint_caught() -> whether a SIGINT came since the trap was set */
static int sigint_caught(lua_State *L) {
  lua_pushboolean(L, caught != 0);
  return 1;
}

void ae_open_signal(lua_State *L) {
  lua_pushcfunction(L, sigint_trap);
  lua_setfield(L, -2, "sigint_trap");
  lua_pushcfunction(L, sigint_caught);
  lua_setfield(L, -2, "sigint_caught");
}
