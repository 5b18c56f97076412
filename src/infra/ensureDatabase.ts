import pg from 'pg';

const errorCode = (error: unknown) => (error as { code?: string }).code;

/**
 * Creates the database a connection string names if it does not exist yet, through the server's
 * `postgres` database (the account needs CREATEDB). Several processes may race to create it.
 */
export async function ensureDatabase(url: string): Promise<void> {
  const probe = new pg.Client({ connectionString: url });
  try {
    await probe.connect();
    return;
  } catch (error) {
    if (errorCode(error) !== '3D000') throw error; // anything but "database does not exist"
  } finally {
    await probe.end().catch(() => {});
  }
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: maintenance.toString() });
  await admin.connect();
  try {
    await admin.query(`create database ${admin.escapeIdentifier(name)}`);
  } catch (error) {
    // 42P04: it exists now; 23505: another process created it at the same moment.
    if (!['42P04', '23505'].includes(errorCode(error) ?? '')) {
      throw new Error(`cannot create database ${name}: ${(error as Error).message}`);
    }
  } finally {
    await admin.end().catch(() => {});
  }
}
