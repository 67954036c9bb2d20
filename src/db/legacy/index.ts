import { sourceOf, type Migration } from '../migrations/index.js';
import * as schema from './001_schema.js';
import * as changeCapture from './002_change_capture.js';
import * as rejections from './003_rejections.js';
import * as genrePersonQueues from './004_genre_person_queues.js';
import * as targets from './005_targets.js';
import * as notify from './006_notify.js';
import * as linkLocksParent from './007_link_locks_parent.js';
import * as servingHistory from './008_serving_history.js';


// The migrations of movies before it kept its objects apart (everything in schema content); only
// relocate.ts runs them, to bring an older database to 008 before moving it. Imported, not discovered on disk, so they work the same from src/ (tsx) and dist/.
const migrations: Record<string, Migration> = {
  '001_schema': schema,
  '002_change_capture': changeCapture,
  '003_rejections': rejections,
  '004_genre_person_queues': genrePersonQueues,
  '005_targets': targets,
  '006_notify': notify,
  '007_link_locks_parent': linkLocksParent,
  '008_serving_history': servingHistory,
};

export const legacySource = sourceOf(migrations);
