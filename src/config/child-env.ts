/**
 * The environment a child process inherits (spark-submit, the JVM): not settings — those are
 * read once, by load.ts — but what tools such as Java and Hadoop look up for themselves
 * (JAVA_HOME, HADOOP_CONF_DIR, PATH), passed on whole.
 */
export function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return env;
}
