/* baseline.c - the practical limit for `make bench`: libcurl used directly, as a C program
 * would, for the same requests the Lua clients make.
 *
 *   baseline WORKLOAD BASE_URL REQUEST_JSON N [INFLIGHT] [raw]
 *
 * WORKLOAD is create (POST BASE/v1/messages), or small, mid or big (POST BASE/<name>/v1/messages,
 * an event stream). Sequential work reuses one easy handle (so one connection); INFLIGHT > 1
 * runs create requests through a multi handle with INFLIGHT reused easy handles.
 *
 * Decoding (the default) does the work a Lua client does with lua-cjson, in C with cJSON:
 * every request body is encoded from a parsed params tree (as json.encode(params) does), every
 * answer is parsed into a tree and its text read; a stream is split into events by a small SSE
 * parser, every event's data is parsed, and the text of each text_delta read. "raw" skips all
 * JSON work (a fixed body is sent, answers are counted in bytes only): the floor of the transfer.
 *
 * Prints one line: RESULT n= wall= cpu= rss_kb= grow_kb= text= (text = bytes of text read;
 * CPU is user+sys of this process from getrusage, over the measured requests only; warm-up
 * requests on the same connection come first). */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct buf {
  char *p;
  size_t len, cap;
} buf;

static void buf_add(buf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (b->len + n + 1 > cap) cap *= 2;
    b->p = realloc(b->p, cap);
    if (!b->p) abort();
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static int decode = 1;

/* ---- one transfer's state ---- */

typedef struct job {
  CURL *easy;
  int stream;
  buf body;      /* a whole answer (create), or the current line (stream) */
  buf data;      /* a stream: the data lines of the current event */
  long long text;
  long long raw_bytes;
  char *req;     /* the encoded request body */
} job;

static void text_of_message(job *j) {
  cJSON *m = cJSON_ParseWithLength(j->body.p ? j->body.p : "", j->body.len);
  if (!m) {
    fprintf(stderr, "baseline: the answer is not JSON\n");
    exit(1);
  }
  cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
  cJSON *block;
  cJSON_ArrayForEach(block, content) {
    cJSON *t = cJSON_GetObjectItemCaseSensitive(block, "text");
    if (cJSON_IsString(t)) j->text += (long long)strlen(t->valuestring);
  }
  cJSON_Delete(m);
}

static void dispatch_event(job *j) {
  if (j->data.len == 0) return;
  cJSON *ev = cJSON_ParseWithLength(j->data.p, j->data.len);
  if (!ev) {
    fprintf(stderr, "baseline: an event is not JSON\n");
    exit(1);
  }
  cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
  if (cJSON_IsString(type) && strcmp(type->valuestring, "content_block_delta") == 0) {
    cJSON *d = cJSON_GetObjectItemCaseSensitive(ev, "delta");
    cJSON *dt = cJSON_GetObjectItemCaseSensitive(d, "type");
    cJSON *t = cJSON_GetObjectItemCaseSensitive(d, "text");
    if (cJSON_IsString(dt) && strcmp(dt->valuestring, "text_delta") == 0 && cJSON_IsString(t))
      j->text += (long long)strlen(t->valuestring);
  }
  cJSON_Delete(ev);
  j->data.len = 0;
}

/* One complete SSE line (without its newline). */
static void sse_line(job *j, const char *s, size_t n) {
  if (n && s[n - 1] == '\r') n--;
  if (n == 0) {
    dispatch_event(j);
  } else if (n >= 5 && memcmp(s, "data:", 5) == 0) {
    s += 5, n -= 5;
    if (n && *s == ' ') s++, n--;
    if (j->data.len) buf_add(&j->data, "\n", 1);
    buf_add(&j->data, s, n);
  } /* event:, id:, retry: and comments: the type is in the data */
}

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  job *j = ud;
  size_t len = size * n;
  j->raw_bytes += (long long)len;
  if (!decode) return len;
  if (!j->stream) {
    buf_add(&j->body, p, len);
    return len;
  }
  size_t start = 0;
  for (size_t i = 0; i < len; i++) {
    if (p[i] != '\n') continue;
    if (j->body.len) { /* a line split across deliveries */
      buf_add(&j->body, p + start, i - start);
      sse_line(j, j->body.p, j->body.len);
      j->body.len = 0;
    } else {
      sse_line(j, p + start, i - start);
    }
    start = i + 1;
  }
  if (start < len) buf_add(&j->body, p + start, len - start);
  return len;
}

static cJSON *params;
static char *fixed_body;
static struct curl_slist *headers;

static void prepare(job *j, const char *url) {
  free(j->req);
  j->req = NULL;
  const char *body = fixed_body;
  if (decode) {
    if (j->stream) cJSON_AddBoolToObject(params, "stream", 1);
    j->req = cJSON_PrintUnformatted(params);
    if (j->stream) cJSON_DeleteItemFromObjectCaseSensitive(params, "stream");
    body = j->req;
  }
  j->body.len = 0;
  j->data.len = 0;
  curl_easy_setopt(j->easy, CURLOPT_URL, url);
  curl_easy_setopt(j->easy, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(j->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
}

static void finish(job *j) {
  long code = 0;
  curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &code);
  if (code != 200) {
    fprintf(stderr, "baseline: HTTP %ld\n", code);
    exit(1);
  }
  if (!decode) return;
  if (j->stream) {
    if (j->body.len) sse_line(j, j->body.p, j->body.len);
    j->body.len = 0;
    dispatch_event(j);
  } else {
    text_of_message(j);
  }
}

static void job_init(job *j, int stream) {
  memset(j, 0, sizeof *j);
  j->stream = stream;
  j->easy = curl_easy_init();
  if (!j->easy) abort();
  curl_easy_setopt(j->easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(j->easy, CURLOPT_WRITEDATA, j);
  curl_easy_setopt(j->easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(j->easy, CURLOPT_TCP_KEEPALIVE, 1L);
}

/* ---- measurement ---- */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         (double)ru.ru_stime.tv_usec / 1e6;
}

static long status_kb(const char *field) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long v = -1;
  size_t n = strlen(field);
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, field, n) == 0 && line[n] == ':') v = strtol(line + n + 1, NULL, 10);
  if (f) fclose(f);
  return v;
}

static void reset_peak(void) { /* VmHWM := VmRSS (Linux >= 4.0) */
  FILE *f = fopen("/proc/self/clear_refs", "w");
  if (f) {
    fputs("5", f);
    fclose(f);
  }
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(2);
  }
  buf b = {0};
  char tmp[4096];
  size_t n;
  while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) buf_add(&b, tmp, n);
  fclose(f);
  return b.p;
}

/* ---- workloads ---- */

static long long run_sequential(job *j, const char *url, int n) {
  long long text = 0;
  for (int i = 0; i < n; i++) {
    prepare(j, url);
    j->text = 0;
    CURLcode rc = curl_easy_perform(j->easy);
    if (rc != CURLE_OK) {
      fprintf(stderr, "baseline: %s\n", curl_easy_strerror(rc));
      exit(1);
    }
    finish(j);
    text += decode ? j->text : j->raw_bytes;
    j->raw_bytes = 0;
  }
  return text;
}

static long long run_multi(CURLM *m, job *jobs, int k, const char *url, int n) {
  long long text = 0;
  int started = 0, done = 0;
  for (int i = 0; i < k && started < n; i++, started++) {
    prepare(&jobs[i], url);
    jobs[i].text = 0;
    curl_multi_add_handle(m, jobs[i].easy);
  }
  while (done < n) {
    int running;
    curl_multi_perform(m, &running);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left))) {
      if (msg->msg != CURLMSG_DONE) continue;
      job *j = NULL;
      for (int i = 0; i < k; i++)
        if (jobs[i].easy == msg->easy_handle) j = &jobs[i];
      if (msg->data.result != CURLE_OK) {
        fprintf(stderr, "baseline: %s\n", curl_easy_strerror(msg->data.result));
        exit(1);
      }
      curl_multi_remove_handle(m, j->easy);
      finish(j);
      text += decode ? j->text : j->raw_bytes;
      j->raw_bytes = 0;
      done++;
      if (started < n) {
        prepare(j, url);
        j->text = 0;
        curl_multi_add_handle(m, j->easy);
        started++;
      }
    }
    if (done < n) curl_multi_poll(m, NULL, 0, 1000, NULL);
  }
  return text;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: baseline create|small|mid|big BASE_URL REQUEST_JSON N [INFLIGHT] [raw]\n");
    return 2;
  }
  const char *workload = argv[1], *base = argv[2];
  int n = atoi(argv[4]);
  int k = argc > 5 ? atoi(argv[5]) : 1;
  if (argc > 6 && strcmp(argv[6], "raw") == 0) decode = 0;
  if (k < 1) k = 1;
  int stream = strcmp(workload, "create") != 0;

  char url[512], warm_url[512];
  if (stream) snprintf(url, sizeof url, "%s/%s/v1/messages", base, workload);
  else snprintf(url, sizeof url, "%s/v1/messages", base);
  snprintf(warm_url, sizeof warm_url, stream ? "%s/small/v1/messages" : "%s/v1/messages", base);

  char *request = slurp(argv[3]);
  params = cJSON_Parse(request);
  if (!params) {
    fprintf(stderr, "baseline: %s is not JSON\n", argv[3]);
    return 2;
  }
  fixed_body = cJSON_PrintUnformatted(params);

  curl_global_init(CURL_GLOBAL_DEFAULT);
  headers = curl_slist_append(headers, "anthropic-version: 2023-06-01");
  headers = curl_slist_append(headers, "accept: application/json");
  headers = curl_slist_append(headers, "user-agent: bench-baseline/1");
  headers = curl_slist_append(headers, "content-type: application/json");
  /* the same fake key as bench/common.lua, built here so no key-shaped literal is committed */
  char key_header[160];
  snprintf(key_header, sizeof key_header, "x-api-key: sk-ant-api03-bench%088d-AAAAAAAA", 0);
  headers = curl_slist_append(headers, key_header);
  headers = curl_slist_append(headers, "Expect:");

  int warm = strcmp(workload, "big") == 0 || strcmp(workload, "mid") == 0 ? 2 : 20;
  long long text;
  double w0, c0, rss0;
  if (k == 1) {
    job j;
    job_init(&j, stream);
    run_sequential(&j, warm_url, warm);
    rss0 = (double)status_kb("VmRSS");
    reset_peak();
    w0 = now(), c0 = cpu();
    text = run_sequential(&j, url, n);
  } else {
    CURLM *m = curl_multi_init();
    job *jobs = calloc((size_t)k, sizeof *jobs);
    for (int i = 0; i < k; i++) job_init(&jobs[i], stream);
    run_multi(m, jobs, k, warm_url, k * 2); /* opens the k connections */
    rss0 = (double)status_kb("VmRSS");
    reset_peak();
    w0 = now(), c0 = cpu();
    text = run_multi(m, jobs, k, url, n);
  }
  double wall = now() - w0, c = cpu() - c0;
  long peak = status_kb("VmHWM");
  printf("RESULT n=%d wall=%.6f cpu=%.6f rss_kb=%ld grow_kb=%ld text=%lld\n", n, wall, c, peak,
         peak - (long)rss0, text);
  return 0;
}
