/*
 * The AppPlatform JavaScript runtime's engine for the simulator and the service's tests: Duktape 2.7 (the
 * engine innovaphone's runtime embeds), one heap, one thread, driven by JSON lines.
 *
 *   kuando-duk-host [--in PATH] [--out PATH] PRELUDE
 *
 * It evaluates PRELUDE (sim/runtime/duk/prelude.js), which defines the runtime's globals as forwarders and
 * registers a dispatch function. Then every input line (stdin, or the FIFO --in) is handed to that function
 * as a string; whatever the prelude writes goes out as lines (stdout, or the FIFO --out), and each input
 * ends with one line {"t":"done","cpu":MICROSECONDS,"service":MICROSECONDS,"heap":BYTES}: the thread CPU time
 * the line cost in the engine (decoding the line included), the part of it spent in the service's own
 * callbacks (the prelude measures it with cpu()), and the bytes the heap holds afterwards (a counting
 * allocator). The end of the input ends the host.
 *
 * The line protocol above the prelude is documented in prelude.js. The host knows nothing of it.
 */

#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <duktape.h>

static FILE *out;
static size_t heap_bytes;
static double service_us;

/* ---- a counting allocator: every block carries its size in front ---------------------------------------- */

#define HDR 16

static void *count_alloc(void *udata, duk_size_t size) {
    (void) udata;
    if (size == 0) return NULL;
    unsigned char *p = malloc(size + HDR);
    if (!p) return NULL;
    *(size_t *) p = size;
    heap_bytes += size;
    return p + HDR;
}

static void *count_realloc(void *udata, void *ptr, duk_size_t size) {
    (void) udata;
    if (!ptr) return count_alloc(udata, size);
    unsigned char *p = (unsigned char *) ptr - HDR;
    size_t old = *(size_t *) p;
    if (size == 0) {
        heap_bytes -= old;
        free(p);
        return NULL;
    }
    unsigned char *q = realloc(p, size + HDR);
    if (!q) return NULL;
    *(size_t *) q = size;
    heap_bytes = heap_bytes - old + size;
    return q + HDR;
}

static void count_free(void *udata, void *ptr) {
    (void) udata;
    if (!ptr) return;
    unsigned char *p = (unsigned char *) ptr - HDR;
    heap_bytes -= *(size_t *) p;
    free(p);
}

static void fatal(void *udata, const char *msg) {
    (void) udata;
    /* The message is Duktape's own text; it holds no quotes or control characters worth escaping fully. */
    fprintf(out ? out : stdout, "{\"t\":\"error\",\"text\":\"duktape fatal error: ");
    for (const char *c = msg ? msg : ""; *c; c++) {
        if (*c == '"' || *c == '\\' || (unsigned char) *c < 0x20) fputc('?', out ? out : stdout);
        else fputc(*c, out ? out : stdout);
    }
    fprintf(out ? out : stdout, "\"}\n");
    fflush(out ? out : stdout);
    exit(70);
}

static double cpu_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

/* ---- natives for the prelude (it takes them and deletes the global that held them) ----------------------- */

/* out(text): one output line. The prelude escapes everything but printable ASCII, so the bytes are ASCII. */
static duk_ret_t n_out(duk_context *ctx) {
    duk_size_t len;
    const char *s = duk_require_lstring(ctx, 0, &len);
    fwrite(s, 1, len, out);
    fputc('\n', out);
    return 0;
}

/* load(path): evaluates a file in the global scope, as the runtime evaluates javascript.eval. */
static duk_ret_t n_load(duk_context *ctx) {
    const char *path = duk_require_string(ctx, 0);
    FILE *f = fopen(path, "rb");
    if (!f) return duk_error(ctx, DUK_ERR_ERROR, "cannot open %s", path);
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[65536];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n > cap) {
            cap = (len + n) * 2;
            char *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                fclose(f);
                return duk_error(ctx, DUK_ERR_ERROR, "out of memory reading %s", path);
            }
            buf = b;
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    duk_push_string(ctx, path);
    if (duk_pcompile_lstring_filename(ctx, 0, buf ? buf : "", len) != 0) {
        free(buf);
        return duk_throw(ctx);
    }
    free(buf);
    duk_call(ctx, 0);
    return 0;
}

/* setDispatch(fn): the function every input line goes to; kept where no script can reach it. */
static duk_ret_t n_set_dispatch(duk_context *ctx) {
    duk_require_function(ctx, 0);
    duk_push_global_stash(ctx);
    duk_dup(ctx, 0);
    duk_put_prop_string(ctx, -2, "dispatch");
    return 0;
}

/* gc(): a full collection (twice: the second frees what finalizers of the first released). */
static duk_ret_t n_gc(duk_context *ctx) {
    duk_gc(ctx, 0);
    duk_gc(ctx, 0);
    return 0;
}

static duk_ret_t n_heap(duk_context *ctx) {
    duk_push_number(ctx, (double) heap_bytes);
    return 1;
}

/* cpu(): the thread's CPU time in microseconds; serviceCpu(us): adds to this line's service time. */
static duk_ret_t n_cpu(duk_context *ctx) {
    duk_push_number(ctx, cpu_us());
    return 1;
}

static duk_ret_t n_service_cpu(duk_context *ctx) {
    service_us += duk_require_number(ctx, 0);
    return 0;
}

static const duk_function_list_entry natives[] = {
    { "out", n_out, 1 },
    { "load", n_load, 1 },
    { "setDispatch", n_set_dispatch, 1 },
    { "gc", n_gc, 0 },
    { "heap", n_heap, 0 },
    { "cpu", n_cpu, 0 },
    { "serviceCpu", n_service_cpu, 1 },
    { NULL, NULL, 0 }
};

int main(int argc, char **argv) {
    const char *in_path = NULL, *out_path = NULL, *prelude = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--in") == 0 && i + 1 < argc) in_path = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) out_path = argv[++i];
        else if (strcmp(argv[i], "--version") == 0) {
            printf("kuando-duk-host on Duktape %ld\n", (long) DUK_VERSION);
            return 0;
        } else prelude = argv[i];
    }
    if (!prelude) {
        fprintf(stderr, "usage: kuando-duk-host [--in PATH] [--out PATH] PRELUDE\n");
        return 2;
    }
    /* The same order as the Node side opens them (its write end, then its read end): no deadlock. */
    FILE *in = in_path ? fopen(in_path, "rb") : stdin;
    out = out_path ? fopen(out_path, "wb") : stdout;
    if (!in || !out) {
        perror("kuando-duk-host: opening the line pipes");
        return 1;
    }

    duk_context *ctx = duk_create_heap(count_alloc, count_realloc, count_free, NULL, fatal);
    if (!ctx) return 1;
    duk_push_object(ctx);
    duk_put_function_list(ctx, -1, natives);
    duk_put_global_string(ctx, "__kuandoHost");
    /* Evaluate the prelude through the native loader, so that its errors are reported the same way. */
    duk_push_c_function(ctx, n_load, 1);
    duk_push_string(ctx, prelude);
    if (duk_pcall(ctx, 1) != 0) {
        fprintf(out, "{\"t\":\"error\",\"text\":\"prelude failed\"}\n");
        fprintf(stderr, "kuando-duk-host: prelude: %s\n", duk_safe_to_string(ctx, -1));
        fflush(out);
        return 1;
    }
    duk_pop(ctx);

    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, in)) > 0) {
        if (line[n - 1] == '\n') n--;
        service_us = 0;
        double t0 = cpu_us();
        duk_push_global_stash(ctx);
        duk_get_prop_string(ctx, -1, "dispatch");
        duk_push_lstring(ctx, line, (duk_size_t) n);
        if (duk_pcall(ctx, 1) != 0) {
            /* The prelude catches what the service throws; this is a bug of the prelude itself. */
            fprintf(stderr, "kuando-duk-host: dispatch: %s\n", duk_safe_to_string(ctx, -1));
        }
        duk_pop_2(ctx);
        double t1 = cpu_us();
        fprintf(out, "{\"t\":\"done\",\"cpu\":%.0f,\"service\":%.0f,\"heap\":%zu}\n", t1 - t0, service_us,
                heap_bytes);
        fflush(out);
    }
    free(line);
    duk_destroy_heap(ctx);
    return 0;
}
