/**
 * The local broker's prerequisites: a Java of at least version 17 on PATH, and Apache Kafka's
 * jars, resolved from Maven Central once per version with Maven through `pom.xml` beside this file.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { indent, LocalKafkaError, NO_CLUSTER_HINT } from './errors';
import { isAlive, readOrUndefined, run } from './system';

const POM = path.join(__dirname, 'pom.xml');
const MIN_JAVA = 17;

/**
 * Fails unless `java` on PATH is Java 17 or newer.
 * @throws {LocalKafkaError} naming what was found and how to install a suitable one.
 */
export async function checkJava(): Promise<void> {
  const install = `Install OpenJDK ${MIN_JAVA} (apt-get install openjdk-${MIN_JAVA}-jre-headless) ${NO_CLUSTER_HINT}`;
  const result = await run('java', ['-version'], 30_000);
  if (result.missing) {
    throw new LocalKafkaError(
      `Java ${MIN_JAVA} or newer is needed to run the local Kafka broker, but \`java\` was not found on PATH. ${install}`,
    );
  }
  const major = parseJavaMajor(result.output);
  if (major === undefined) {
    const first = result.output.split('\n')[0]?.trim() ?? '';
    throw new LocalKafkaError(
      `Java ${MIN_JAVA} or newer is needed to run the local Kafka broker, but \`java -version\` did not report a version (${JSON.stringify(first)}). ${install}`,
    );
  }
  if (major < MIN_JAVA) {
    throw new LocalKafkaError(
      `Java ${MIN_JAVA} or newer is needed to run the local Kafka broker, but \`java\` on PATH is Java ${major}. ${install}`,
    );
  }
}

/** `java version "1.8.0_292"` → 8, `openjdk version "17.0.15" 2025-04-15` → 17, `"21-ea"` → 21. */
export function parseJavaMajor(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (match === null) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] !== undefined ? Number(match[2]) : first;
}

/**
 * Returns `<cacheDir>/<version>/lib`, copying the jars there with Maven when they are missing.
 * The copy lands in a temp dir that is renamed into place and only then marked complete, so an
 * interrupted or failed copy is never mistaken for a usable one. The marker records a hash of the
 * pom, so editing it (say, a new dependency) re-resolves.
 * @throws {LocalKafkaError} when Maven is missing or cannot resolve the version.
 */
export async function resolveJars(
  version: string,
  cacheDir: string,
  log: (line: string) => void,
): Promise<string> {
  const versionDir = path.join(cacheDir, version);
  const libDir = path.join(versionDir, 'lib');
  const marker = path.join(versionDir, 'complete');
  const pomHash = createHash('sha256')
    .update(await fsp.readFile(POM))
    .digest('hex');
  const markerText = `${pomHash}\n`;
  if ((await readOrUndefined(marker)) === markerText) return libDir;

  const mvnCheck = await run('mvn', ['-v'], 60_000);
  if (mvnCheck.missing) {
    throw new LocalKafkaError(
      `Maven is needed once to fetch the Kafka ${version} jars from Maven Central, but \`mvn\` was not found on PATH. Install it (apt-get install maven) ${NO_CLUSTER_HINT}`,
    );
  }

  await fsp.mkdir(versionDir, { recursive: true });
  // Leftovers of copies interrupted earlier (by any process) are useless: clear them.
  for (const entry of await fsp.readdir(versionDir)) {
    if (entry.startsWith('lib.tmp-')) {
      const pid = Number(entry.split('-')[1]);
      if (!isAlive(pid))
        await fsp.rm(path.join(versionDir, entry), { recursive: true, force: true });
    }
  }
  const tmpDir = path.join(versionDir, `lib.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  log(
    `Resolving Apache Kafka ${version} jars from Maven Central into ${libDir} (once per version)`,
  );
  const started = Date.now();
  const result = await run('mvn', [
    '-q',
    '-B',
    '-Dstyle.color=never',
    '-f',
    POM,
    'dependency:copy-dependencies',
    `-DoutputDirectory=${tmpDir}`,
    '-DincludeScope=runtime',
    `-Dkafka.version=${version}`,
  ]);
  if (result.code !== 0) {
    await fsp.rm(tmpDir, { recursive: true, force: true });
    throw new LocalKafkaError(
      `Maven could not resolve the Apache Kafka ${version} jars (mvn exit code ${result.code ?? 'none: killed or timed out'}). Check the version and network access to Maven Central, ${NO_CLUSTER_HINT}\n${indent(mavenTail(result.output))}`,
    );
  }
  if ((await readOrUndefined(marker)) === markerText) {
    // Another process finished the same copy meanwhile and may already run from it: keep theirs.
    await fsp.rm(tmpDir, { recursive: true, force: true });
    return libDir;
  }
  await fsp.rm(marker, { force: true });
  await fsp.rm(libDir, { recursive: true, force: true });
  await fsp.rename(tmpDir, libDir);
  await fsp.writeFile(marker, markerText);
  const jars = (await fsp.readdir(libDir)).filter((f) => f.endsWith('.jar')).length;
  log(`Resolved ${jars} jars in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return libDir;
}

/** The last meaningful lines of Maven's output, without its colour codes and generic advice. */
function mavenTail(output: string): string {
  const boilerplate =
    /To see the full stack trace|Re-run Maven|For more information about the errors|\[Help \d+\] http/;
  const lines = stripVTControlCharacters(output)
    .replace(/\r/g, '')
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '' && l !== '[ERROR]' && !boilerplate.test(l));
  return lines.slice(-8).join('\n') || '(no output)';
}
