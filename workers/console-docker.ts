/**
 * Console-mode conveniences: say at once whether the Docker engine answers (the bot keeps
 * running either way; deploys then fail with a clear sentence), and build the offline demo
 * image hoist-demo/httpd:1 on first use so the README demo works without a registry.
 */
import Dockerode from 'dockerode';
import { ensureDemoImage } from '../scripts/demo-image.ts';
import { isHoistError } from './contract/errors.ts';
import type { Logger } from '../bot/core/types.ts';
import type { Deployer } from './deploy/deployer.ts';

export async function prepareConsoleDocker(deployer: Deployer, logger: Logger, dockerHost?: string): Promise<void> {
  try {
    await deployer.ping();
  } catch (e) {
    process.stdout.write(`warning: ${isHoistError(e) ? e.userMessage : String(e)} — deploys will fail until it is.\n`);
    return;
  }
  try {
    const docker = dockerHost?.startsWith('tcp://')
      ? new Dockerode({ host: new URL(dockerHost).hostname, port: Number(new URL(dockerHost).port) })
      : new Dockerode();
    await ensureDemoImage(docker);
  } catch (e) {
    logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'demo_image.failed');
    process.stdout.write(`note: could not build the demo image hoist-demo/httpd:1 (${e instanceof Error ? e.message : String(e)}).\n`);
  }
}
