/**
 * Loads an optional peer dependency for one of sluice's entry points (`ioredis` for
 * sluice/redis, `jose` for sluice/jwt), so that its absence says what to install. A static
 * `import` of a package that is not installed fails while the module graph is linked, before
 * any of sluice's code runs, with a bare ERR_MODULE_NOT_FOUND; this dynamic import is awaited
 * at the top level of a module of the entry point, and its failure can be caught.
 */
export async function importPeer<Module>(
  name: string,
  entryPoint: string,
  load: () => Promise<Module>,
): Promise<Module> {
  try {
    return await load();
  } catch (error) {
    if (!isNotInstalled(error, name)) throw error;
    throw new Error(`${entryPoint} needs the "${name}" package: npm install ${name}`, {
      cause: error,
    });
  }
}

/**
 * True when `error` is Node's "Cannot find package 'name'": the package itself is missing.
 * A package installed but broken (a file or a dependency of its own missing) keeps its error.
 */
function isNotInstalled(error: unknown, name: string): boolean {
  return (
    error instanceof Error &&
    (error as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND" &&
    error.message.includes(`'${name}'`)
  );
}
