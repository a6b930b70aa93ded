// Where the service tests find the real servers: the environment, else the addresses
// scripts/services.sh and docker-compose.yml use. Tests never skip: an absent server fails them.
export const servers = {
  databaseUrl: process.env.TEST_DATABASE_URL ?? 'postgres://recsys:recsys@127.0.0.1:5432/recsys_test',
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  kafkaBrokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map((b) => b.trim()),
  /**
   * Kafka's FAULTS listener (scripts/services.sh, docker-compose.yml): it advertises the port of a
   * proxy the test runs in front of it, so that test's clients, and only they, lose Kafka when
   * the proxy stops.
   */
  kafkaFaults: {
    port: Number(process.env.KAFKA_FAULTS_PORT ?? 9094),
    proxyPort: Number(process.env.KAFKA_FAULTS_PROXY_PORT ?? 19094),
  },
  s3: {
    endpoint: process.env.S3_ENDPOINT ?? 'http://127.0.0.1:9000',
    accessKey: process.env.S3_ACCESS_KEY ?? 'recsys',
    secretKey: process.env.S3_SECRET_KEY ?? 'recsys-secret',
    bucket: process.env.S3_BUCKET ?? 'recsys',
  },
};

/** Short enough that a missing server fails a test in seconds. */
export const CONNECT_TIMEOUT_MS = 3000;
