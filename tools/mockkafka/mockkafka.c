/*
 * mockkafka: a Kafka-protocol broker for the tests, built on librdkafka's mock cluster (rdkafka_mock.h).
 *
 * Usage: mockkafka [-b BROKERS] [TOPIC[:PARTITIONS] ...]
 *   -b BROKERS   number of mock brokers (1..9, default 1)
 *   TOPIC:N      a topic created up front with N partitions (default 1), replication min(BROKERS, 3); the mock
 *                does not serve the CreateTopics admin API, so tests name their topics here.
 *
 * Prints one line on stdout, the bootstrap servers (`127.0.0.1:PORT[,...]`, random loopback ports), then serves
 * until SIGTERM, SIGINT or SIGHUP, or until the process that started it dies (PR_SET_PDEATHSIG), so that a test
 * runner killed hard leaves no broker behind. Exit status: 0 after a signal, 1 when the cluster cannot be set up,
 * 2 on a bad argument.
 *
 * Built by scripts/build-mockkafka.sh into .cache/mockkafka.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static void usage(void) {
  fprintf(stderr, "usage: mockkafka [-b BROKERS] [TOPIC[:PARTITIONS] ...]\n");
}

/* Parses a whole decimal number in [min, max]; returns 0 on success. */
static int parse_count(const char *text, int min, int max, int *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < min || v > max) return -1;
  *out = (int)v;
  return 0;
}

int main(int argc, char **argv) {
  int brokers = 1;
  int opt;
  while ((opt = getopt(argc, argv, "b:h")) != -1) {
    if (opt == 'b' && parse_count(optarg, 1, 9, &brokers) == 0) continue;
    usage();
    return opt == 'h' ? 0 : 2;
  }

  /* The parent's pid before asking to be signalled when it dies: if it is gone already, stop now. */
  pid_t parent = getppid();
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) perror("prctl(PR_SET_PDEATHSIG)");
  if (getppid() != parent) return 0;

  /* Block the stop signals before librdkafka starts its threads (they inherit the mask), then wait for one of
   * them in main with sigwait: no handler runs on an arbitrary librdkafka thread. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);

  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* Warnings and errors only: the handle's notice that it has no bootstrap.servers is expected. */
  if (rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
    fprintf(stderr, "mockkafka: log_level: %s\n", errstr);
  /* This handle only owns the mock cluster's thread; it produces nothing and connects nowhere. */
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == NULL) {
    fprintf(stderr, "mockkafka: rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (cluster == NULL) {
    fprintf(stderr, "mockkafka: rd_kafka_mock_cluster_new failed\n");
    rd_kafka_destroy(rk);
    return 1;
  }

  int status = 0;
  for (int i = optind; i < argc && status == 0; i++) {
    char name[250];
    int partitions = 1;
    const char *colon = strrchr(argv[i], ':');
    size_t len = colon ? (size_t)(colon - argv[i]) : strlen(argv[i]);
    if (len == 0 || len >= sizeof name || (colon && parse_count(colon + 1, 1, 1000, &partitions) != 0)) {
      fprintf(stderr, "mockkafka: bad topic '%s' (TOPIC[:PARTITIONS], 1..1000 partitions)\n", argv[i]);
      status = 2;
      break;
    }
    memcpy(name, argv[i], len);
    name[len] = '\0';
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster, name, partitions, brokers < 3 ? brokers : 3);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      fprintf(stderr, "mockkafka: cannot create topic %s: %s\n", name, rd_kafka_err2str(err));
      status = 1;
    }
  }

  if (status == 0) {
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
  }

  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return status;
}
