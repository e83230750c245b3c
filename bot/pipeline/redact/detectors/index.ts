/** Every detector, grouped by family. Order does not matter: the engine merges by priority. */
import type { Detector } from '../detector.ts';
import { aiDetectors } from './ai.ts';
import { assignmentDetector } from './assignments.ts';
import { chatDetectors } from './chat.ts';
import { cliDetectors } from './cli.ts';
import { cloudDetectors } from './cloud.ts';
import { genericDetector } from './generic.ts';
import { httpDetectors } from './http.ts';
import { keyDetectors } from './keys.ts';
import { kubernetesDetector } from './kubernetes.ts';
import { saasDetectors } from './saas.ts';
import { vcsDetectors } from './vcs.ts';

export const DETECTORS: readonly Detector[] = [
  ...cloudDetectors,
  ...vcsDetectors,
  ...chatDetectors,
  ...saasDetectors,
  ...aiDetectors,
  ...keyDetectors,
  ...httpDetectors,
  assignmentDetector,
  ...cliDetectors,
  kubernetesDetector,
  genericDetector,
];
