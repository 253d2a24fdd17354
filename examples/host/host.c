/* host.c - a C program with a 60 Hz frame loop that embeds Lua and streams a long reply through
 * the module without ever blocking its frame (docs/embedding.md, "A C host"). It measures the time
 * spent in the library in each frame and prints the worst, the 99th percentile, the mean and the
 * number of frames over 2 ms.
 *
 *   host [--mode poll|pollfd] [--requests N] [--words N] [--fresh] [--echo] [--max-frames N]
 *        [--threads N] [--trace] [--app FILE] [--path LUA_PATH] [--cpath LUA_CPATH]
 *
 *   poll     every frame calls anthropic.poll(0) once, then sleeps to the next frame deadline
 *   pollfd   every frame waits, until the frame deadline at most, on anthropic.pollfd() with
 *            poll(2) and the timeout anthropic.timeout() gives; it calls poll(0) only when the
 *            descriptor is readable or that timeout is over, then sleeps to the deadline
 *
 * --threads N runs N of these at once, each thread with a Lua state of its own (its own engine),
 * and prints each one's lines after "thread K" once all are done.
 *
 * The key, the base URL and the CA file come from the environment, as for any client
 * (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, ANTHROPIC_CA_FILE). Frames are paced with
 * clock_nanosleep to absolute deadlines, as a game's loop is. Output, one line each:
 *   reply: requests=N bytes=N events=N complete=yes|no [problem]
 *   frames: frames=N serviced=N worst_ms=F p99_ms=F mean_ms=F over_2ms=N late=N worst_frame=N
 *           first_ms=F load_ms=F worst_cpu_ms=F
 * (with --trace, one line "frame N MS" per frame before them; `late`: frames that ended after
 * their deadline; `first_ms`: the first frame, which starts the task; `load_ms`: making the
 * client, at start-up before the first frame, not counted in the frames' figures;
 * `worst_cpu_ms`: the most processor time this thread used in the library in one frame, which
 * leaves out the time it waited for a processor on a loaded machine).
 * Exit status 0 when every reply arrived in full. */
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FRAME_NS (1000000000LL / 60)
#define OVER_NS 2000000LL

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long cpu_ns(void) { /* this thread's processor time: what preemption does not add */
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_until(long long deadline) {
  struct timespec ts = {(time_t)(deadline / 1000000000LL), (long)(deadline % 1000000000LL)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

typedef struct {
  const char *mode, *app, *path, *cpath;
  long requests, words, max_frames;
  int fresh, echo, trace, fdmode;
} options;

typedef struct {
  const options *o;
  char *out;    /* what the run printed (open_memstream) */
  size_t len;
  int status;
} run;

typedef struct {
  lua_State *L;
  int app;          /* registry ref of the app module's table */
  long long spent;  /* ns inside the library during the current frame */
  long long cpu;    /* of which this thread ran (the rest: it waited for a processor) */
} host;

static void die(host *h, const char *what) {
  fprintf(stderr, "host: %s: %s\n", what, lua_tostring(h->L, -1));
  exit(2);
}

/* Calls app[name] with the nargs values on top of the stack as its arguments, leaving nres
 * results. The time it takes counts as library time of this frame. */
static void call(host *h, const char *name, int nargs, int nres) {
  lua_rawgeti(h->L, LUA_REGISTRYINDEX, h->app);
  lua_getfield(h->L, -1, name);
  lua_remove(h->L, -2);
  lua_insert(h->L, -(nargs + 1));
  long long t0 = now_ns(), c0 = cpu_ns();
  if (lua_pcall(h->L, nargs, nres, 0) != 0) die(h, name);
  h->spent += now_ns() - t0;
  h->cpu += cpu_ns() - c0;
}

static int cmp_ll(const void *a, const void *b) {
  long long x = *(const long long *)a, y = *(const long long *)b;
  return (x > y) - (x < y);
}

static const char *arg_value(int argc, char **argv, int *i) {
  if (*i + 1 >= argc) {
    fprintf(stderr, "host: %s needs a value\n", argv[*i]);
    exit(2);
  }
  return argv[++*i];
}

static int run_host(const options *o, FILE *out);
static void *run_thread(void *ud);

int main(int argc, char **argv) {
  const char *mode = "poll", *app = "examples/host/app.lua";
  const char *path = "./lua/?.lua;./lua/?/init.lua", *cpath = "./build/?.so";
  long requests = 1, words = 200, max_frames = 60 * 120, threads = 1;
  int fresh = 0, echo = 0, trace = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--mode")) mode = arg_value(argc, argv, &i);
    else if (!strcmp(argv[i], "--requests")) requests = atol(arg_value(argc, argv, &i));
    else if (!strcmp(argv[i], "--words")) words = atol(arg_value(argc, argv, &i));
    else if (!strcmp(argv[i], "--max-frames")) max_frames = atol(arg_value(argc, argv, &i));
    else if (!strcmp(argv[i], "--threads")) threads = atol(arg_value(argc, argv, &i));
    else if (!strcmp(argv[i], "--app")) app = arg_value(argc, argv, &i);
    else if (!strcmp(argv[i], "--path")) path = arg_value(argc, argv, &i);
    else if (!strcmp(argv[i], "--cpath")) cpath = arg_value(argc, argv, &i);
    else if (!strcmp(argv[i], "--fresh")) fresh = 1;
    else if (!strcmp(argv[i], "--echo")) echo = 1;
    else if (!strcmp(argv[i], "--trace")) trace = 1;
    else {
      fprintf(stderr, "host: unknown argument %s (see the comment at the top of host.c)\n", argv[i]);
      return 2;
    }
  }
  int fdmode = !strcmp(mode, "pollfd");
  if (!fdmode && strcmp(mode, "poll")) {
    fprintf(stderr, "host: --mode is poll or pollfd, not %s\n", mode);
    return 2;
  }
  if (requests < 1 || words < 1 || max_frames < 1 || threads < 1 || threads > 16) {
    fprintf(stderr, "host: --requests, --words and --max-frames take a whole number >= 1, --threads 1 to 16\n");
    return 2;
  }
  options o = {mode, app, path, cpath, requests, words, max_frames, fresh, echo, trace, fdmode};
  if (threads == 1) return run_host(&o, stdout);
  /* one Lua state per thread, each with its own frame loop; their outputs in thread order */
  pthread_t tid[16];
  run runs[16];
  int status = 0;
  for (long t = 0; t < threads; t++) {
    runs[t] = (run){&o, NULL, 0, 2};
    if (pthread_create(&tid[t], NULL, run_thread, &runs[t]) != 0) {
      fprintf(stderr, "host: pthread_create failed\n");
      return 2;
    }
  }
  for (long t = 0; t < threads; t++) {
    pthread_join(tid[t], NULL);
    printf("thread %ld\n", t + 1);
    if (runs[t].out) fwrite(runs[t].out, 1, runs[t].len, stdout);
    free(runs[t].out);
    if (runs[t].status > status) status = runs[t].status;
  }
  return status;
}

/* One Lua state and its frame loop, start to end; prints to out. -> the exit status */
static int run_host(const options *o, FILE *out) {
  const char *path = o->path, *cpath = o->cpath, *app = o->app;
  long requests = o->requests, words = o->words, max_frames = o->max_frames;
  int fresh = o->fresh, echo = o->echo, trace = o->trace, fdmode = o->fdmode;
  /* Start-up, before the first frame: the VM, the module, the app. */
  host h = {luaL_newstate(), 0, 0, 0};
  if (!h.L) return fprintf(stderr, "host: out of memory\n"), 2;
  luaL_openlibs(h.L);
  lua_getglobal(h.L, "package");
  lua_pushstring(h.L, path);
  lua_setfield(h.L, -2, "path");
  lua_pushstring(h.L, cpath);
  lua_setfield(h.L, -2, "cpath");
  lua_pop(h.L, 1);
  if (luaL_loadfile(h.L, app) != 0 || lua_pcall(h.L, 0, 1, 0) != 0) die(&h, app);
  if (!lua_istable(h.L, -1)) return fprintf(stderr, "host: %s returns no table\n", app), 2;
  h.app = luaL_ref(h.L, LUA_REGISTRYINDEX);

  long long *spent = malloc((size_t)max_frames * sizeof *spent);
  long long *cpu = malloc((size_t)max_frames * sizeof *cpu);
  if (!spent || !cpu) return fprintf(stderr, "host: out of memory\n"), 2;
  int fd = -1;
  if (fdmode) {
    call(&h, "pollfd", 0, 1);
    fd = (int)lua_tointeger(h.L, -1);
    lua_pop(h.L, 1);
  }

  lua_newtable(h.L);
  lua_pushinteger(h.L, requests);
  lua_setfield(h.L, -2, "requests");
  lua_pushinteger(h.L, words);
  lua_setfield(h.L, -2, "words");
  lua_pushboolean(h.L, fresh);
  lua_setfield(h.L, -2, "fresh");
  lua_pushboolean(h.L, echo);
  lua_setfield(h.L, -2, "echo");
  h.spent = 0;
  call(&h, "load", 1, 0); /* the client: its key and options are read here, before any frame */
  long long load_ns = h.spent;

  long frames = 0, serviced = 0, late = 0;
  int running = 1;
  long long deadline = now_ns() + FRAME_NS;
  while (running && frames < max_frames) {
    h.spent = h.cpu = 0;
    if (frames == 0) call(&h, "start", 0, 0); /* spawns the task: the requests start */
    int service = 1;
    if (fdmode) {
      /* wait for the descriptor, or the library's timeout, within this frame's time */
      call(&h, "timeout", 0, 1);
      double t = lua_tonumber(h.L, -1);
      lua_pop(h.L, 1);
      long long start = now_ns(), due = t >= 0 ? start + (long long)(t * 1e9) : -1;
      long long wait = deadline - start;
      if (wait < 0) wait = 0;
      if (due >= 0 && due - start < wait) wait = due - start;
      struct pollfd p = {fd, POLLIN, 0};
      int rc = poll(&p, 1, (int)(wait / 1000000LL)); /* whole ms: the rest is the sleep below */
      service = rc > 0 || (due >= 0 && now_ns() >= due);
    }
    if (service) {
      call(&h, "frame", 0, 1);
      running = lua_toboolean(h.L, -1);
      lua_pop(h.L, 1);
      serviced++;
    }
    cpu[frames] = h.cpu;
    spent[frames++] = h.spent;
    if (now_ns() > deadline) late++;
    sleep_until(deadline);
    deadline += FRAME_NS;
  }

  call(&h, "result", 0, 5);
  long got = (long)lua_tointeger(h.L, -5), bytes = (long)lua_tointeger(h.L, -4);
  long events = (long)lua_tointeger(h.L, -3);
  int ok = lua_toboolean(h.L, -2) && got == requests && !running;
  const char *problem = running ? "not finished within --max-frames" : lua_tostring(h.L, -1);
  fprintf(out, "reply: requests=%ld bytes=%ld events=%ld complete=%s%s%s\n", got, bytes, events,
         ok ? "yes" : "no", problem && *problem ? " " : "", problem ? problem : "");
  lua_pop(h.L, 5);

  long long sum = 0, over = 0;
  long worst_at = 0;
  for (long i = 0; i < frames; i++) {
    sum += spent[i];
    over += spent[i] > OVER_NS;
    if (spent[i] > spent[worst_at]) worst_at = i;
    if (trace) fprintf(out, "frame %ld %.3f\n", i, spent[i] / 1e6);
  }
  long long first = spent[0], worst_cpu = 0;
  for (long i = 0; i < frames; i++)
    if (cpu[i] > worst_cpu) worst_cpu = cpu[i];
  qsort(spent, (size_t)frames, sizeof *spent, cmp_ll);
  long p99 = (long)((double)frames * 0.99);
  if (p99 >= frames) p99 = frames - 1;
  fprintf(out, "frames: frames=%ld serviced=%ld worst_ms=%.3f p99_ms=%.3f mean_ms=%.3f over_2ms=%lld late=%ld "
         "worst_frame=%ld first_ms=%.3f load_ms=%.3f worst_cpu_ms=%.3f\n",
         frames, serviced, spent[frames - 1] / 1e6, spent[p99] / 1e6, (double)sum / (double)frames / 1e6,
         over, late, worst_at, first / 1e6, load_ns / 1e6, worst_cpu / 1e6);
  free(spent);
  free(cpu);
  luaL_unref(h.L, LUA_REGISTRYINDEX, h.app);
  lua_close(h.L);
  return ok ? 0 : 1;
}

static void *run_thread(void *ud) {
  run *r = ud;
  FILE *out = open_memstream(&r->out, &r->len);
  if (!out) {
    r->status = 2;
    return NULL;
  }
  r->status = run_host(r->o, out);
  fclose(out);
  return NULL;
}
