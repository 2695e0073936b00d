/* xmalloc — producers and consumers in the manner of xmalloc-test: producer
 * threads malloc blocks of 8–512 bytes (now and then up to 4 KiB), put them
 * in batches of 128 on a shared bounded queue, and consumer threads take the
 * batches, check and free every block, so every free is cross-thread.
 * Default 2 producers and 2 consumers (argv[2] = producers = consumers). */
#include "wl.h"
#include <pthread.h>

#define BATCH 128
#define QCAP 64

typedef struct {
  int n;
  void *p[BATCH];
} batch;

static struct {
  pthread_mutex_t lock;
  pthread_cond_t nonempty, nonfull;
  batch *q[QCAP];
  int head, count;
} queue = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0};

static void put(batch *b) {
  pthread_mutex_lock(&queue.lock);
  while (queue.count == QCAP) pthread_cond_wait(&queue.nonfull, &queue.lock);
  queue.q[(queue.head + queue.count++) % QCAP] = b;
  pthread_cond_signal(&queue.nonempty);
  pthread_mutex_unlock(&queue.lock);
}
static batch *take(void) {
  pthread_mutex_lock(&queue.lock);
  while (queue.count == 0) pthread_cond_wait(&queue.nonempty, &queue.lock);
  batch *b = queue.q[queue.head];
  queue.head = (queue.head + 1) % QCAP;
  queue.count--;
  pthread_cond_signal(&queue.nonfull);
  pthread_mutex_unlock(&queue.lock);
  return b;
}

typedef struct {
  uint64_t seed, bytes, bad;
  long batches;
} worker;

/* a block holds its size in its first word, the size's tag at both ends */
static void *producer(void *arg) {
  worker *w = arg;
  for (long i = 0; i < w->batches; i++) {
    batch *b = wl_malloc(sizeof(batch));
    b->n = BATCH;
    for (int k = 0; k < BATCH; k++) {
      uint32_t n = wl_below(&w->seed, 64) ? wl_range(&w->seed, 8, 512) : wl_range(&w->seed, 513, 4096);
      unsigned char *p = wl_malloc(n);
      memcpy(p, &n, sizeof n);
      p[n - 1] = wl_tag(n);
      b->p[k] = p;
      w->bytes += n;
    }
    put(b);
  }
  return NULL;
}
static void *consumer(void *arg) {
  worker *w = arg;
  for (;;) {
    batch *b = take();
    if (!b) return NULL; /* end of work */
    for (int k = 0; k < b->n; k++) {
      unsigned char *p = b->p[k];
      uint32_t n;
      memcpy(&n, p, sizeof n);
      if (n < 8 || n > 4096 || p[n - 1] != wl_tag(n)) w->bad++;
      else w->bytes += n;
      free(p);
    }
    free(b);
  }
}

int main(int argc, char **argv) {
  double scale = wl_scale(argc, argv);
  int np = wl_threads(argc, argv, 2);
  long batches = wl_scaled(50000, scale) / np + 1;
  pthread_t *tid = wl_malloc(2 * np * sizeof(pthread_t));
  worker *w = wl_calloc(2 * np, sizeof(worker));
  for (int i = 0; i < np; i++) {
    w[i].seed = 77 + i;
    w[i].batches = batches;
    if (pthread_create(&tid[i], NULL, producer, &w[i])) wl_die("pthread_create failed");
  }
  for (int i = np; i < 2 * np; i++)
    if (pthread_create(&tid[i], NULL, consumer, &w[i])) wl_die("pthread_create failed");
  for (int i = 0; i < np; i++) pthread_join(tid[i], NULL);
  for (int i = 0; i < np; i++) put(NULL);
  uint64_t made = 0, freed = 0, bad = 0;
  for (int i = np; i < 2 * np; i++) pthread_join(tid[i], NULL);
  for (int i = 0; i < np; i++) made += w[i].bytes;
  for (int i = np; i < 2 * np; i++) freed += w[i].bytes, bad += w[i].bad;
  printf("xmalloc %d %ld %llu %s bad=%llu\n", np, batches * np * BATCH, (unsigned long long)made,
         made == freed ? "balanced" : "UNBALANCED", (unsigned long long)bad);
  free(tid);
  free(w);
  return bad != 0 || made != freed;
}
