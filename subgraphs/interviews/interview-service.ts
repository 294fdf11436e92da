/**
 * The interviews domain: the lifecycle rules, input rules and authorization of interviews, their
 * questions and answers (preferences are `preferences-service.ts`). One instance per request,
 * built from its {@link RequestScope}; resolvers only translate between GraphQL and these methods.
 *
 * Every action runs in one transaction that re-reads the interview, checks the caller and the
 * lifecycle, applies the change and enqueues exactly one event in the outbox; a refused action
 * writes and publishes nothing. Reads go through the request's batch loaders (`loaders.ts`), so a
 * listing with questions and answers costs one query per level, not one per interview; listings
 * are keyset-paginated (`../shared/pagination.ts`).
 */
import { takeWriteLock } from '../../lib/database';
import { randomUUID } from 'node:crypto';
import {
  OptimisticLockError,
  UniqueConstraintViolationException,
  type EntityManager,
  type FilterQuery,
} from '@mikro-orm/core';
import type { EventEnvelope, EventOn } from '../../events/catalog';
import { InterviewEventFactory } from '../../events/factories';
import type { OutboxMessage } from '../../events/outbox';
import {
  DomainError,
  ForbiddenError,
  InvalidInputError,
  InvalidTransitionError,
  NotFoundError,
} from '../../contracts/errors';
import {
  isAdmin,
  requireIdentity,
  requireSelfOrAdmin,
  type Identity,
} from '../../contracts/identity';
import { keysetQuery, pageSize, toPage, type Page } from '../shared/pagination';
import type { RequestScope } from '../shared/subgraph';
import { AnswerEntity, InterviewEntity, QuestionEntity } from './entities';
import {
  isStreamConflict,
  readStreamEvent,
  recordEvent,
  type Recorded,
  type StreamEvent,
} from './event-store';
import { stateAt, type InterviewSnapshot } from './history';
import { transition, type Action, type Status } from './lifecycle';
import type { InterviewLoaders } from './loaders';

/** Input limits, in UTF-16 code units (JavaScript's `length`, as the event schemas count). */
export const LIMITS = {
  title: 200,
  position: 200,
  questions: 50,
  question: 2_000,
  answer: 10_000,
  cancelReason: 500,
  /** Largest `first` of a listing. */
  pageSize: 100,
} as const;

/** `first` of a listing when the caller sends `null` (the schema's own default is the same). */
export const DEFAULT_PAGE_SIZE = 20;

/** `createInterview`'s input, before validation. */
export interface CreateInterviewInput {
  title: string;
  position: string;
  /** The candidate; the caller when absent. */
  candidateId?: string | null | undefined;
  questions: readonly string[];
}

/** `Query.interviews`' arguments. */
export interface ListOptions {
  /** Only interviews in one of these statuses; all when absent. */
  statuses?: readonly Status[] | null | undefined;
  /** Admins only; everyone else always gets their own interviews. */
  candidateId?: string | null | undefined;
  /** @default DEFAULT_PAGE_SIZE */
  first?: number | null | undefined;
  /** The `cursor` of the last edge already seen (or `pageInfo.endCursor`). */
  after?: string | null | undefined;
}

/** One page of `Query.interviews`: the `InterviewConnection` as the schema shapes it. */
export interface InterviewPage extends Page<InterviewEntity> {
  /** Every interview the filter matches, on all pages. */
  totalCount: number;
}

type InterviewEvent = EventOn<'interview-events'>;

/** What an action does once the caller and the lifecycle allowed it: the event it records. */
type Apply = (
  interview: InterviewEntity,
  em: EntityManager,
  now: Date,
) => Recorded | Promise<Recorded>;

/** The interviews of one request's caller: reads, and the lifecycle's actions. */
export class InterviewService {
  private readonly em: EntityManager;
  private readonly identity: Identity | null;
  private readonly eventsCommitted: (rows?: readonly OutboxMessage[]) => void;
  private readonly loaders: InterviewLoaders;

  /**
   * @param scope The request's EntityManager fork, caller and outbox wake-up.
   * @param loaders The request's loaders, reading through `scope.em`.
   */
  constructor(scope: RequestScope, loaders: InterviewLoaders) {
    this.em = scope.em;
    this.identity = scope.identity;
    this.eventsCommitted = scope.eventsCommitted;
    this.loaders = loaders;
  }

  // ---------------------------------------------------------------------------------------------
  // Reads

  /** The interview, for its candidate or an admin. */
  async interview(id: string): Promise<InterviewEntity> {
    const who = requireIdentity(this.identity);
    const interview = await this.loaders.byId.load(id);
    if (!interview) throw new NotFoundError('Interview', id);
    authorize(who, interview);
    return interview;
  }

  /**
   * A federation reference (`_entities`): like {@link interview}, but an unknown id is `null`,
   * so a dangling reference from another subgraph nulls one field rather than failing.
   */
  async reference(id: string): Promise<InterviewEntity | null> {
    const who = requireIdentity(this.identity);
    const interview = await this.loaders.byId.load(id);
    if (!interview) return null;
    authorize(who, interview);
    return interview;
  }

  /** Newest first, keyset-paginated. Non-admins get only their own interviews. */
  async list(options: ListOptions = {}): Promise<InterviewPage> {
    const who = requireIdentity(this.identity);
    const first = pageSize('first', options.first ?? DEFAULT_PAGE_SIZE, {
      min: 1,
      max: LIMITS.pageSize,
    });
    let candidateId = options.candidateId ?? undefined;
    if (!isAdmin(who)) {
      if (candidateId !== undefined && candidateId !== who.userId) {
        throw new ForbiddenError(
          `Only administrators may list another candidate's interviews (filter.candidateId ${candidateId})`,
        );
      }
      candidateId = who.userId;
    }
    const where: FilterQuery<InterviewEntity> = {};
    if (candidateId !== undefined) where.candidateId = candidateId;
    if (options.statuses) where.status = { $in: [...options.statuses] };
    const page = keysetQuery(where, { first, after: options.after, direction: 'desc' });
    const [totalCount, rows] = await Promise.all([
      this.em.count(InterviewEntity, where),
      this.em.find(InterviewEntity, page.where, page.options),
    ]);
    return { ...toPage(rows, first), totalCount };
  }

  /** A candidate's interviews, newest first: for the candidate or an admin. */
  async interviewsOf(candidateId: string): Promise<InterviewEntity[]> {
    requireSelfOrAdmin(this.identity, candidateId);
    return this.loaders.byCandidate.load(candidateId);
  }

  /** The questions of an interview the caller already got, in order. */
  questionsOf(interview: InterviewEntity): Promise<QuestionEntity[]> {
    return this.loaders.questions.load(interview.id);
  }

  /** The answers of an interview the caller already got, in submission order. */
  answersOf(interview: InterviewEntity): Promise<AnswerEntity[]> {
    return this.loaders.answers.load(interview.id);
  }

  /** The question an answer answers, from its interview's (batched) questions. */
  async questionOf(answer: AnswerEntity): Promise<QuestionEntity> {
    const questions = await this.loaders.questions.load(answer.interview.id);
    const question = questions.find((q) => q.id === answer.question.id);
    if (!question) throw new NotFoundError('Question', answer.question.id);
    return question;
  }

  /** The interview's events, oldest first, validated (older versions upcast). */
  async historyOf(interview: InterviewEntity): Promise<StreamEvent[]> {
    const rows = await this.loaders.streams.load(interview.id);
    return rows.map(readStreamEvent);
  }

  /**
   * The interview as it was right after its event `eventId`, rebuilt from its stream.
   * @throws {NotFoundError} when the interview has no such event.
   */
  async stateAt(interview: InterviewEntity, eventId: string): Promise<InterviewSnapshot> {
    const state = stateAt(await this.historyOf(interview), eventId);
    if (!state) {
      throw new DomainError(
        'NOT_FOUND',
        `Interview ${interview.id} has no event ${eventId}; its history lists the ones it has`,
        { entity: 'InterviewEvent', id: eventId },
      );
    }
    return state;
  }

  // ---------------------------------------------------------------------------------------------
  // Actions

  /** A new interview in DRAFT, for the caller or (admins only) for another candidate. */
  async create(input: CreateInterviewInput): Promise<InterviewEntity> {
    const who = requireIdentity(this.identity);
    const candidateId = input.candidateId ?? who.userId;
    if (candidateId.trim() === '') {
      throw new InvalidInputError('input.candidateId', 'must not be empty');
    }
    if (candidateId !== who.userId && !isAdmin(who)) {
      throw new ForbiddenError('Only administrators may create interviews for another candidate');
    }
    const title = boundedText('input.title', input.title, LIMITS.title);
    const position = boundedText('input.position', input.position, LIMITS.position);
    if (input.questions.length < 1 || input.questions.length > LIMITS.questions) {
      throw new InvalidInputError(
        'input.questions',
        `give 1-${LIMITS.questions} questions, got ${input.questions.length}`,
      );
    }
    const texts = input.questions.map((text, i) =>
      boundedText(`input.questions[${i}]`, text, LIMITS.question),
    );

    let row: OutboxMessage | undefined;
    const interview = await this.em.transactional(
      async (em) => {
        const now = new Date();
        const created = Object.assign(new InterviewEntity(), {
          id: randomUUID(),
          candidateId,
          createdBy: who.userId,
          title,
          position,
          status: 'draft' satisfies Status,
          questionCount: texts.length,
          createdAt: now,
          updatedAt: now,
        });
        em.persist(created);
        const questions = texts.map((text, i) =>
          Object.assign(new QuestionEntity(), {
            id: randomUUID(),
            interview: created,
            position: i + 1,
            text,
          }),
        );
        questions.forEach((question) => em.persist(question));
        row = recordEvent(em, 1, {
          event: InterviewEventFactory.create(
            'interview.created',
            {
              interviewId: created.id,
              candidateId,
              title,
              position,
              questionCount: texts.length,
              createdBy: who.userId,
            },
            { timestamp: now },
          ),
          facts: {
            questions: questions.map(({ id, position: at, text }) => ({ id, position: at, text })),
          },
        });
        return created;
      },
      { clear: true },
    );
    this.loaders.byCandidate.clear(candidateId);
    this.eventsCommitted(row ? [row] : undefined);
    return interview;
  }

  /** Sets or moves the date of a DRAFT or SCHEDULED interview; the date must be ahead. */
  async schedule(id: string, scheduledFor: Date): Promise<InterviewEntity> {
    requireIdentity(this.identity);
    if (Number.isNaN(scheduledFor.getTime())) {
      throw new InvalidInputError('scheduledFor', 'must be a valid date-time');
    }
    if (scheduledFor.getTime() <= Date.now()) {
      throw new InvalidInputError(
        'scheduledFor',
        `must be in the future, got ${scheduledFor.toISOString()}`,
      );
    }
    return this.act(id, 'schedule', (interview, _em, now) => {
      interview.scheduledFor = scheduledFor;
      return recorded('interview.scheduled', interview, now, {
        scheduledFor: scheduledFor.toISOString(),
      });
    });
  }

  /** Starts a SCHEDULED interview (or a DRAFT one, unscheduled) now. */
  async start(id: string): Promise<InterviewEntity> {
    return this.act(id, 'start', (interview, _em, now) => {
      interview.startedAt = now;
      return recorded('interview.started', interview, now, { startedAt: now.toISOString() });
    });
  }

  /** Records the answer to one question of an IN_PROGRESS interview; each question once. */
  async submitAnswer(
    interviewId: string,
    questionId: string,
    content: string,
  ): Promise<InterviewEntity> {
    requireIdentity(this.identity);
    const text = boundedText('content', content, LIMITS.answer);
    const alreadyAnswered = () =>
      new InvalidInputError('questionId', `question ${questionId} was already answered`);
    try {
      return await this.act(interviewId, 'submitAnswer', async (interview, em, now) => {
        const question = await em.findOne(QuestionEntity, {
          id: questionId,
          interview: interview.id,
        });
        if (!question) {
          throw new InvalidInputError(
            'questionId',
            `question ${questionId} is not part of interview ${interviewId}`,
          );
        }
        // A second answer to the question breaks answers_question_uq at commit (caught below):
        // one query less per answer than counting first.
        const answer = Object.assign(new AnswerEntity(), {
          id: randomUUID(),
          interview,
          question,
          content: text,
          wordCount: countWords(text),
          submittedAt: now,
        });
        em.persist(answer);
        interview.answerCount += 1;
        return {
          event: event('interview.answer_submitted', interview, now, {
            questionId: question.id,
            answerId: answer.id,
            wordCount: answer.wordCount,
            answeredQuestions: interview.answerCount,
            totalQuestions: interview.questionCount,
          }),
          facts: { content: answer.content },
        };
      });
    } catch (error) {
      // The question has an answer already (answers_question_uq), concurrent or not.
      if (error instanceof UniqueConstraintViolationException) throw alreadyAnswered();
      throw error;
    }
  }

  /** Pauses an IN_PROGRESS interview, by hand (`reason: manual`). */
  async pause(id: string): Promise<InterviewEntity> {
    return this.act(id, 'pause', (interview, _em, now) => {
      interview.pausedAt = now;
      return recorded('interview.paused', interview, now, {
        pausedAt: now.toISOString(),
        reason: 'manual',
      });
    });
  }

  /**
   * Resumes a PAUSED interview, by hand (`trigger: manual`); signing in resumes them too, when
   * the candidate's preferences say so (`consumers/`).
   */
  async resume(id: string): Promise<InterviewEntity> {
    return this.act(id, 'resume', (interview, _em, now) => {
      interview.pausedAt = null;
      return recorded('interview.resumed', interview, now, {
        resumedAt: now.toISOString(),
        trigger: 'manual',
      });
    });
  }

  /** Ends an IN_PROGRESS or PAUSED interview; the duration counts from the start, pauses included. */
  async complete(id: string): Promise<InterviewEntity> {
    return this.act(id, 'complete', (interview, _em, now) => {
      interview.completedAt = now;
      const startedAt = interview.startedAt ?? now;
      return recorded('interview.completed', interview, now, {
        completedAt: now.toISOString(),
        answeredQuestions: interview.answerCount,
        totalQuestions: interview.questionCount,
        durationSeconds: Math.max(0, Math.floor((now.getTime() - startedAt.getTime()) / 1000)),
      });
    });
  }

  /** Cancels an interview that has not ended, with an optional reason for the record. */
  async cancel(id: string, reason?: string | null): Promise<InterviewEntity> {
    requireIdentity(this.identity);
    const why = reason == null ? undefined : boundedText('reason', reason, LIMITS.cancelReason);
    return this.act(id, 'cancel', (interview, _em, now) => {
      const previousStatus = interview.status;
      interview.cancelledAt = now;
      interview.cancelReason = why ?? null;
      return recorded('interview.cancelled', interview, now, {
        cancelledAt: now.toISOString(),
        previousStatus,
        ...(why === undefined ? {} : { reason: why }),
      });
    });
  }

  /**
   * The frame of every action on an existing interview: in one transaction, re-read it, check
   * the caller and the lifecycle, let `apply` change it, move it to its next status and enqueue
   * the event `apply` returned. Anything thrown rolls all of it back.
   */
  private async act(id: string, action: Action, apply: Apply): Promise<InterviewEntity> {
    const who = requireIdentity(this.identity);
    let interview: InterviewEntity;
    let row: OutboxMessage | undefined;
    try {
      interview = await this.em.transactional(
        async (em) => {
          await takeWriteLock(em);
          const current = await em.findOne(InterviewEntity, { id });
          if (!current) throw new NotFoundError('Interview', id);
          authorize(who, current);
          const step = transition(current.status, action);
          if (!step.allowed) {
            throw new InvalidTransitionError(
              'interview',
              id,
              graphqlName(step.from),
              action,
              step.allowedFrom.map(graphqlName),
            );
          }
          const now = new Date();
          const recorded = await apply(current, em, now);
          current.status = step.to;
          current.updatedAt = now;
          // The row's version goes up by one with this change: the stream's next place.
          row = recordEvent(em, current.version + 1, recorded);
          return current;
        },
        { clear: true },
      );
    } catch (error) {
      if (error instanceof OptimisticLockError || isStreamConflict(error)) {
        throw new DomainError(
          'CONFLICT',
          `Interview ${id} was changed by another request at the same time; read it again and retry`,
          { id },
        );
      }
      throw error;
    }
    // What this request loaded before is stale now.
    this.loaders.byId.clear(id);
    this.loaders.byCandidate.clear(interview.candidateId);
    this.loaders.answers.clear(id);
    this.eventsCommitted(row ? [row] : undefined);
    return interview;
  }
}

// -----------------------------------------------------------------------------------------------
// Helpers

function authorize(who: Identity, interview: InterviewEntity): void {
  if (interview.candidateId !== who.userId && !isAdmin(who)) {
    throw new ForbiddenError(
      `Interview ${interview.id} belongs to another candidate; only they or an administrator may see or change it`,
    );
  }
}

/** `in_progress` -> `IN_PROGRESS`: how clients know the status (the GraphQL enum value). */
function graphqlName(status: Status): string {
  return status.toUpperCase();
}

/** The trimmed text, or BAD_USER_INPUT naming `field` when it is blank or longer than `max`. */
function boundedText(field: string, value: string, max: number): string {
  const text = value.trim();
  if (text.length < 1 || text.length > max) {
    throw new InvalidInputError(
      field,
      `must be 1-${max} characters (leading and trailing spaces aside), got ${text.length}`,
    );
  }
  return text;
}

function countWords(text: string): number {
  return text.split(/\s+/u).filter(Boolean).length;
}

/** Builds one interview event; every payload names the interview and its candidate. */
function event<T extends InterviewEvent['eventType']>(
  type: T,
  interview: InterviewEntity,
  now: Date,
  fields: Omit<EventEnvelope<T>['payload'], 'interviewId' | 'candidateId'>,
): EventEnvelope<T> {
  const payload = {
    interviewId: interview.id,
    candidateId: interview.candidateId,
    ...fields,
  } as EventEnvelope<T>['payload'];
  return InterviewEventFactory.create(type, payload, { timestamp: now }) as EventEnvelope<T>;
}

/** {@link event}, to record, for the types that keep no unpublished facts. */
function recorded<
  T extends Exclude<
    InterviewEvent['eventType'],
    'interview.created' | 'interview.answer_submitted'
  >,
>(
  type: T,
  interview: InterviewEntity,
  now: Date,
  fields: Omit<EventEnvelope<T>['payload'], 'interviewId' | 'candidateId'>,
): Recorded {
  return { event: event(type, interview, now, fields) } as unknown as Recorded;
}
