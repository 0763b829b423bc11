#!/usr/bin/env node
// The full-size study (issue 14 scenario 5): `STUDY_FULL=1 node dist/replication-study/cli.js`
// (2 threads × 1000 requests, 1 s apart — about 35 minutes per configuration pair… see README);
// without STUDY_FULL the CI-sized run. Prints the markdown table and writes
// bench-results/replication-study.json (or the file given as the first argument).
import { join } from 'node:path';

import { markdownTable, runDescription, writeJson } from './report.js';
import { runReplicationStudy, type StudySystem } from './study.js';
import { loadFromEnv, type AttributeSize } from './workload.js';

const load = loadFromEnv();
const file = process.argv[2] ?? join(process.cwd(), 'bench-results', 'replication-study.json');
const systems = (process.env.STUDY_SYSTEMS?.split(',') ?? ['tomcat', 'cohort']) as StudySystem[];
const sizes = (process.env.STUDY_SIZES?.split(',') ?? ['small', 'large']) as AttributeSize[];
const result = await runReplicationStudy({
  load,
  systems,
  sizes,
  tomcatJvm: process.env.STUDY_FULL === '1' ? 'bench' : 'test',
  log: (l) => console.error(l),
});
console.log(`${runDescription(result)}\n\n${markdownTable(result.rows)}`);
writeJson(file, result);
console.error(`written: ${file}`);
